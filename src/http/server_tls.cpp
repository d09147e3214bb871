#include "detail/server_tls.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "detail/openssl.hpp"
#include "detail/pem.hpp"
#include "detail/self_signed.hpp"
#include "hit/printable.hpp"

namespace hit::http::detail {
namespace {

namespace ssl = boost::asio::ssl;

// Lets a client resume a session a connection of this server made (OpenSSL refuses to resume
// without one once client certificates are verified).
constexpr unsigned char session_id_context[] = "hit serve";

// What the server presents: the leaf, the rest of its chain, and the leaf's key.
struct served_identity {
  identity id;
  std::string leaf_pem;
};

result<served_identity> load_served_identity(const tls_settings& s) {
  auto id = load_identity(s.cert_file, "the certificate file", s.key_file, "the key file");
  if (!id) return failure{id.error()};
  const bio_ptr out(BIO_new(BIO_s_mem()));
  char* data = nullptr;
  long n = 0;
  if (!out || PEM_write_bio_X509(out.get(), id->chain.front().get()) != 1 ||
      (n = BIO_get_mem_data(out.get(), &data)) <= 0)
    return failure{"cannot encode the certificate in " + quoted(s.cert_file) + ": " +
                   openssl_error()};
  return served_identity{std::move(*id), std::string(data, static_cast<std::size_t>(n))};
}

result<void> write_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr)
    return failure{"cannot write the certificate to " + quoted(path) + ": " + std::strerror(errno)};
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = written ? 0 : errno;
  if (std::fclose(f) != 0 || !written)
    return failure{"cannot write the certificate to " + quoted(path) + ": " +
                   std::strerror(err != 0 ? err : errno)};
  return {};
}

result<served_identity> self_signed(const tls_settings& s) {
  auto made = make_self_signed();
  if (!made) return failure{made.error()};
  auto certs = read_certificates(made->certificate_pem);
  evp_pkey_ptr key = read_key(made->private_key_pem);
  if (certs.empty() || !key)
    return failure{"cannot read back the self-signed certificate: " + openssl_error()};
  if (!s.write_cert_file.empty()) {
    if (auto w = write_file(s.write_cert_file, made->certificate_pem); !w)
      return failure{w.error()};
  }
  return served_identity{{std::move(certs), std::move(key)}, std::move(made->certificate_pem)};
}

// ALPN: "h2" when the client offers it, else "http/1.1" when offered (our order, not the
// client's); otherwise no protocol, and the handshake goes on.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  static constexpr unsigned char ours[] = "\x02h2\x08http/1.1";
  unsigned char* chosen = nullptr;
  if (SSL_select_next_proto(&chosen, out_len, ours, sizeof ours - 1, in, in_len) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

result<void> require_client_certificates(SSL_CTX* ctx, const std::string& path) {
  auto cas = load_certificates(path, "the client CA file");
  if (!cas) return failure{cas.error()};
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  for (const auto& ca : *cas) {
    // The CertificateRequest names them, so that a client holding several picks the right one.
    if (X509_STORE_add_cert(store, ca.get()) != 1 || SSL_CTX_add_client_CA(ctx, ca.get()) != 1)
      return failure{"cannot use the CA certificates in " + quoted(path) + ": " + openssl_error()};
  }
  SSL_CTX_set_verify(
      ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT | SSL_VERIFY_CLIENT_ONCE, nullptr);
  return {};
}

}  // namespace

result<server_tls> make_server_tls(const tls_settings& s) {
  const bool given = !s.cert_file.empty() || !s.key_file.empty();
  if (given && (s.cert_file.empty() || s.key_file.empty()))
    return failure{"a certificate file and a key file go together: give both or neither"};
  if (given && !s.write_cert_file.empty())
    return failure{"only a self-signed certificate is written out: not with a certificate file"};
  auto served = given ? load_served_identity(s) : self_signed(s);
  if (!served) return failure{served.error()};
  identity* id = &served->id;

  ssl::context context(ssl::context::tls_server);
  SSL_CTX* ctx = context.native_handle();
  auto broken = [&](const char* what) {
    return failure{std::string("cannot set up TLS: ") + what + ": " + openssl_error()};
  };
  if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) return broken("TLS 1.2");
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // ECDHE only; TLS 1.3's suites all are, with these groups.
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1)
    return broken("TLS 1.2 ciphers");
  if (SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384:P-521") != 1) return broken("groups");
  // Tickets carry the session; no server-side cache (and its lock) is needed to resume.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  if (SSL_CTX_set_session_id_context(ctx, session_id_context, sizeof session_id_context - 1) != 1)
    return broken("session id context");
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);

  const std::string cert = given ? "the certificate in " + quoted(s.cert_file) : "the certificate";
  const std::string key = given ? "the key in " + quoted(s.key_file) : "the key";
  if (SSL_CTX_use_certificate(ctx, id->chain.front().get()) != 1)
    return failure{"cannot serve " + cert + ": " + openssl_error()};
  for (std::size_t i = 1; i < id->chain.size(); ++i)
    if (SSL_CTX_add1_chain_cert(ctx, id->chain[i].get()) != 1)
      return failure{"cannot serve the chain in " + quoted(s.cert_file) + ": " + openssl_error()};
  if (SSL_CTX_use_PrivateKey(ctx, id->key.get()) != 1)
    return failure{"cannot serve " + key + ": " + openssl_error()};
  if (!s.client_ca_file.empty()) {
    if (auto r = require_client_certificates(ctx, s.client_ca_file); !r) return failure{r.error()};
  }
  std::string fingerprint = sha256_fingerprint(id->chain.front().get());
  return server_tls{std::move(context), std::move(served->leaf_pem), std::move(fingerprint)};
}

}  // namespace hit::http::detail

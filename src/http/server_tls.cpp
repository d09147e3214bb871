#include "detail/server_tls.hpp"

#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "detail/openssl.hpp"
#include "detail/self_signed.hpp"
#include "hit/printable.hpp"

namespace hit::http::detail {
namespace {

namespace ssl = boost::asio::ssl;

// Certificates, keys and CA bundles are small; anything larger is not one (a device, a log).
constexpr std::size_t max_pem_file = std::size_t{1} << 20;

// Lets a client resume a session a connection of this server made (OpenSSL refuses to resume
// without one once client certificates are verified).
constexpr unsigned char session_id_context[] = "hit serve";

std::string quoted(const std::string& path) {
  // Appended rather than "'" + printable(path): GCC 12 at -O3 warns (a false stringop-overflow)
  // on inserting before a temporary string.
  std::string q = "'";
  q += printable(path);
  q += '\'';
  return q;
}

// PEM may be encrypted; a server has no one to ask for the passphrase, so it is never asked for.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

result<std::string> read_pem_file(const std::string& path, const char* what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return failure{std::string("cannot read ") + what + " " + quoted(path) + ": " +
                   std::strerror(errno)};
  std::string text;
  char buf[16384];
  std::size_t n = 0;
  while (text.size() <= max_pem_file && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  const int err = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  if (err != 0)
    return failure{std::string("cannot read ") + what + " " + quoted(path) + ": " +
                   std::strerror(err)};
  if (text.size() > max_pem_file)
    return failure{std::string(what) + " " + quoted(path) + " is over 1 MiB: not a PEM file"};
  return text;
}

// Every certificate in `pem`, in order; empty when the first cannot be read.
std::vector<x509_ptr> read_certificates(std::string_view pem) {
  std::vector<x509_ptr> out;
  const bio_ptr in = memory_bio(pem);
  while (in) {
    x509_ptr x(PEM_read_bio_X509(in.get(), nullptr, no_passphrase, nullptr));
    if (!x) break;
    out.push_back(std::move(x));
  }
  // Reading past the last certificate leaves "no start line" behind.
  ERR_clear_error();
  return out;
}

result<std::vector<x509_ptr>> load_certificates(const std::string& path, const char* what) {
  auto pem = read_pem_file(path, what);
  if (!pem) return failure{pem.error()};
  auto certs = read_certificates(*pem);
  if (certs.empty())
    return failure{std::string(what) + " " + quoted(path) +
                   " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"};
  return certs;
}

result<evp_pkey_ptr> load_key(const std::string& path) {
  auto pem = read_pem_file(path, "the key file");
  if (!pem) return failure{pem.error()};
  const bio_ptr in = memory_bio(*pem);
  evp_pkey_ptr key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr)
                      : nullptr);
  if (!key) {
    ERR_clear_error();
    return failure{"the key file " + quoted(path) +
                   " holds no PEM private key, or only an encrypted one"};
  }
  return key;
}

// What the server presents: the leaf, the rest of its chain, and the leaf's key.
struct identity {
  std::vector<x509_ptr> chain;  // leaf first
  evp_pkey_ptr key;
  std::string leaf_pem;
};

result<identity> load_identity(const tls_settings& s) {
  auto chain = load_certificates(s.cert_file, "the certificate file");
  if (!chain) return failure{chain.error()};
  auto key = load_key(s.key_file);
  if (!key) return failure{key.error()};
  if (X509_check_private_key(chain->front().get(), key->get()) != 1) {
    ERR_clear_error();
    return failure{"the key in " + quoted(s.key_file) + " does not match the certificate in " +
                   quoted(s.cert_file)};
  }
  const bio_ptr out(BIO_new(BIO_s_mem()));
  char* data = nullptr;
  long n = 0;
  if (!out || PEM_write_bio_X509(out.get(), chain->front().get()) != 1 ||
      (n = BIO_get_mem_data(out.get(), &data)) <= 0)
    return failure{"cannot encode the certificate in " + quoted(s.cert_file) + ": " +
                   openssl_error()};
  return identity{std::move(*chain), std::move(*key),
                  std::string(data, static_cast<std::size_t>(n))};
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

result<identity> self_signed(const tls_settings& s) {
  auto made = make_self_signed();
  if (!made) return failure{made.error()};
  auto certs = read_certificates(made->certificate_pem);
  const bio_ptr in = memory_bio(made->private_key_pem);
  evp_pkey_ptr key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr)
                      : nullptr);
  if (certs.empty() || !key)
    return failure{"cannot read back the self-signed certificate: " + openssl_error()};
  if (!s.write_cert_file.empty()) {
    if (auto w = write_file(s.write_cert_file, made->certificate_pem); !w)
      return failure{w.error()};
  }
  return identity{std::move(certs), std::move(key), std::move(made->certificate_pem)};
}

// ALPN: "http/1.1" when the client offers it; otherwise no protocol, and the handshake goes on.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  static constexpr unsigned char ours[] = "\x08http/1.1";
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
  auto id = given ? load_identity(s) : self_signed(s);
  if (!id) return failure{id.error()};

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
  return server_tls{std::move(context), std::move(id->leaf_pem), std::move(fingerprint)};
}

}  // namespace hit::http::detail

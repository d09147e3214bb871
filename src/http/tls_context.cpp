#include "detail/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>

#include "detail/openssl.hpp"
#include "detail/pem.hpp"
#include "hit/printable.hpp"

namespace hit::http::detail {
namespace {

// The new-session callback: a server's session (ticket) replaces the loop's cached one.
int on_new_session(SSL* ssl, SSL_SESSION* s) {
  auto* cache = static_cast<session_cache*>(SSL_get_app_data(ssl));
  if (cache == nullptr || !SSL_SESSION_is_resumable(s)) return 0;  // 0: OpenSSL keeps ownership
  cache->store(s);
  return 1;
}

}  // namespace

session_cache::~session_cache() {
  if (session_) SSL_SESSION_free(session_);
}

void session_cache::store(SSL_SESSION* s) noexcept {
  if (session_) SSL_SESSION_free(session_);
  session_ = s;
}

tls_context::~tls_context() {
  SSL_CTX_free(ctx_);
}

result<std::unique_ptr<tls_context>> tls_context::create(const tls_options& o,
                                                         std::string_view alpn) {
  std::unique_ptr<tls_context> t(new tls_context);
  t->ctx_ = SSL_CTX_new(TLS_client_method());
  if (t->ctx_ == nullptr) return failure{"cannot create a TLS context: " + openssl_error()};
  SSL_CTX* ctx = t->ctx_;
  SSL_CTX_set_min_proto_version(ctx, o.min_version == tls_version::v1_3   ? TLS1_3_VERSION
                                     : o.min_version == tls_version::v1_2 ? TLS1_2_VERSION
                                                                          : 0);
  // Partial writes: a write completes with what was sent, as a socket's does. Read-ahead: one
  // recv fills OpenSSL's buffer with whole records instead of a header read, then a body read.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  // Records of at most 4 KiB out: OpenSSL sizes each connection's write buffer to the largest
  // record (16 KiB by default), and a request is rarely larger, so this saves 12 KiB per
  // connection (59 -> 47 KiB at -c 10000; docs/performance.md). A large upload costs more
  // records; responses are not affected.
  SSL_CTX_set_max_send_fragment(ctx, 4096);
  // A peer that closes without close_notify reads as end of stream (most servers do this on an
  // idle keep-alive connection); for a response framed by the close, that is its end.
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(alpn.data()),
                          static_cast<unsigned>(alpn.size()));
  if (o.verify) {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    if (SSL_CTX_set_default_verify_paths(ctx) != 1)
      return failure{"cannot load the system trust store: " + openssl_error()};
  } else {
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  }
  // Loaded with -k too, so that a file that cannot be used is an error whatever else is given.
  if (!o.ca_file.empty()) {
    auto cas = load_certificates(o.ca_file, "--cacert");
    if (!cas) return failure{cas.error()};
    for (const auto& ca : *cas)
      if (X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca.get()) != 1)
        return failure{"--cacert " + quoted(o.ca_file) + ": " + openssl_error()};
  }
  if (!o.cert_file.empty()) {
    // Read by hit, not by OpenSSL's file loaders, which would prompt for an encrypted key's
    // passphrase on the terminal.
    auto id = load_identity(o.cert_file, "--cert", o.key_file, "--key");
    if (!id) return failure{id.error()};
    bool used = SSL_CTX_use_certificate(ctx, id->chain.front().get()) == 1 &&
                SSL_CTX_use_PrivateKey(ctx, id->key.get()) == 1;
    for (std::size_t i = 1; used && i < id->chain.size(); ++i)
      used = SSL_CTX_add1_chain_cert(ctx, id->chain[i].get()) == 1;
    if (!used) return failure{"--cert " + quoted(o.cert_file) + ": " + openssl_error()};
  }
  if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, o.ciphers.c_str()) != 1)
    return failure{"--ciphers '" + printable(o.ciphers) + "': no cipher OpenSSL knows"};
  if (!o.tls13_ciphers.empty() && SSL_CTX_set_ciphersuites(ctx, o.tls13_ciphers.c_str()) != 1)
    return failure{"--tls13-ciphers '" + printable(o.tls13_ciphers) +
                   "': no TLS 1.3 cipher suite OpenSSL knows"};
  t->resume_ = o.resume;
  if (o.resume) {
    // Sessions are kept by the loops (session_cache), not in OpenSSL's locked internal store.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, on_new_session);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  }
  return t;
}

SSL* tls_context::new_ssl(const std::string& host, session_cache& cache) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl == nullptr) return nullptr;
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) {
    SSL_set_tlsext_host_name(ssl, host.c_str());  // SNI names hosts, never addresses
    SSL_set1_host(ssl, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  }
  if (resume_) {
    SSL_set_app_data(ssl, &cache);
    if (cache.get() != nullptr) SSL_set_session(ssl, cache.get());
  }
  return ssl;
}

tls_failure describe_tls_failure(SSL* ssl, unsigned long err) {
  if (ssl != nullptr && SSL_get_verify_mode(ssl) != SSL_VERIFY_NONE) {
    const long v = SSL_get_verify_result(ssl);
    if (v != X509_V_OK)
      return {std::string("certificate verify failed: ") + X509_verify_cert_error_string(v),
              "use --cacert FILE to trust the server's issuer, or -k to skip verification"};
  }
  if (err == 0) return {"the server closed or reset the connection during the handshake", {}};
  const char* reason = ERR_reason_error_string(err);
  tls_failure f{reason ? reason : "error " + std::to_string(err), {}};
  const int r = ERR_GET_REASON(err);
  if (r == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED || r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
    f.hint = "the server asks for a client certificate: --cert FILE --key FILE";
  return f;
}

}  // namespace hit::http::detail

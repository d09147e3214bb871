#pragma once
// tls_context: the OpenSSL client context of one run (an SSL_CTX), built once before the run
// from tls_options, shared read-only by every loop; and session_cache, the one TLS session a
// loop resumes on its next connect. See docs/architecture.md (transport).
//
// Thread safety: tls_context is immutable after create() and may be used from any thread
// (SSL_new on a shared SSL_CTX is thread-safe in OpenSSL 3). A session_cache belongs to one
// loop.

#include <memory>
#include <string>
#include <string_view>

#include "hit/http/tls.hpp"
#include "hit/result.hpp"

using SSL = struct ssl_st;
using SSL_CTX = struct ssl_ctx_st;
using SSL_SESSION = struct ssl_session_st;

namespace hit::http::detail {

// The latest session a server gave this loop (TLS 1.3 sends it after the handshake, in a
// NewSessionTicket): the next connect offers it. Holds one reference.
class session_cache {
 public:
  session_cache() = default;
  ~session_cache();
  session_cache(const session_cache&) = delete;
  session_cache& operator=(const session_cache&) = delete;
  void store(SSL_SESSION* s) noexcept;  // takes the reference
  [[nodiscard]] SSL_SESSION* get() const noexcept { return session_; }

 private:
  SSL_SESSION* session_ = nullptr;
};

class tls_context {
 public:
  // Loads the trust store, the client certificate and key, protocol bounds and ciphers; offers
  // the ALPN protocols in `alpn` (wire format: length-prefixed names, preferred first). Fails
  // with one line naming the file or setting at fault.
  static result<std::unique_ptr<tls_context>> create(const tls_options& o, std::string_view alpn);
  ~tls_context();
  tls_context(const tls_context&) = delete;
  tls_context& operator=(const tls_context&) = delete;

  // A new client SSL for one connection to `host` (SNI and the host-name check; an IP literal
  // is checked against the certificate's IP addresses), offering the session in `cache` and
  // storing the server's new sessions there. nullptr when OpenSSL cannot allocate.
  SSL* new_ssl(const std::string& host, session_cache& cache) const;

 private:
  tls_context() = default;
  SSL_CTX* ctx_ = nullptr;
  bool resume_ = true;
};

// Why a handshake on `ssl` failed with OpenSSL error `err` (0: the server closed the
// connection): the verifier's reason when verification was on and failed ("self-signed
// certificate"), otherwise OpenSSL's ("wrong version number"); with a hint when an option helps.
tls_failure describe_tls_failure(SSL* ssl, unsigned long err);

}  // namespace hit::http::detail

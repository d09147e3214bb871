#pragma once
// http_version: which HTTP a run's connections speak.

namespace hit::http {

// http2: over TLS, ALPN must choose "h2" (a server that does not agree fails the handshake,
// kind tls); on http:// URLs, h2c with prior knowledge. negotiate: over TLS offer "h2" and
// "http/1.1" and speak what the server picks; on http://, HTTP/1.1.
enum class http_version { http1_1, http2, negotiate };

}  // namespace hit::http

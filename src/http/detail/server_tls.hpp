#pragma once
// server_tls: the TLS side of `hit serve`, made once before the server listens. One SSL context
// for the server's life: every connection's SSL object comes from it, and its session-ticket
// keys let a client resume on a new connection.

#include <boost/asio/ssl/context.hpp>
#include <string>

#include "hit/http/server.hpp"
#include "hit/result.hpp"

namespace hit::http::detail {

struct server_tls {
  boost::asio::ssl::context context;
  std::string certificate_pem;  // the leaf served
  std::string fingerprint;      // its SHA-256, "AB:CD:..."
};

// The context for `s` (s.enabled is not looked at): TLS 1.2 and 1.3, ECDHE only, ALPN "h2"
// before "http/1.1", tickets on; the certificate chain and key from s.cert_file and s.key_file, or
// a self-signed certificate written to s.write_cert_file when that is set; client certificates
// required and verified against s.client_ca_file when that is set. Fails with one line that
// names the file. Any thread; reads and writes files.
result<server_tls> make_server_tls(const tls_settings& s);

}  // namespace hit::http::detail

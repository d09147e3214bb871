#pragma once
// tls: how the engine speaks TLS to an https:// target. Verification is on by default: the
// server's certificate must chain to the system trust store (or to `ca_file`) and name the
// URL's host (SNI carries the host name too). Sessions are resumed on reconnect, as browsers
// do, unless `resume` is off.

#include <string>

namespace hit::http {

enum class tls_version { any, v1_2, v1_3 };

struct tls_options {
  bool verify = true;     // false: -k/--insecure, no certificate or host-name check
  std::string ca_file;    // an extra trust anchor (PEM), beside the system store
  std::string cert_file;  // client certificate chain (PEM), for mutual TLS; with key_file
  std::string key_file;   // its private key (PEM)
  tls_version min_version = tls_version::v1_2;
  std::string ciphers;        // TLS 1.2 cipher list (OpenSSL syntax); empty: OpenSSL's default
  std::string tls13_ciphers;  // TLS 1.3 cipher suites; empty: OpenSSL's default
  bool resume = true;         // false: every handshake is a full one (--no-tls-resume)
  // The name sent in SNI and that the certificate must match (--host); empty: the URL's host.
  // An IP address is not sent in SNI; the certificate must then name that address.
  std::string server_name;
};

// Why a TLS handshake failed: OpenSSL's reason ("certificate verify failed: self-signed
// certificate", "tlsv13 alert certificate required") and, when an option would help, a hint
// naming it. Empty when none failed.
struct tls_failure {
  std::string reason;
  std::string hint;
};

}  // namespace hit::http

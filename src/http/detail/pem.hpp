#pragma once
// pem: certificates and private keys read from PEM files, for the client (--cert, --key,
// --cacert) and for `hit serve --tls` alike. Files are read whole (at most 1 MiB) and parsed
// from memory; an encrypted key is refused, never prompted for (nobody is there to type a
// passphrase). Every failure is one line naming the file, with `what` (an option name, or "the
// certificate file") in front of it. Any thread; leaves OpenSSL's error queue empty.

#include <string>
#include <string_view>
#include <vector>

#include "detail/openssl.hpp"
#include "hit/result.hpp"

namespace hit::http::detail {

// `path` in single quotes, escaped for a one-line message.
std::string quoted(const std::string& path);

// Every certificate in `pem`, in order; empty when the first cannot be read.
std::vector<x509_ptr> read_certificates(std::string_view pem);

// Every certificate in the file at `path`; at least one.
result<std::vector<x509_ptr>> load_certificates(const std::string& path, const std::string& what);

// A certificate chain (leaf first) and the leaf's private key, checked to match.
struct identity {
  std::vector<x509_ptr> chain;
  evp_pkey_ptr key;
};
result<identity> load_identity(const std::string& cert_file, const std::string& cert_what,
                               const std::string& key_file, const std::string& key_what);

// The private key in `pem`, or null (an encrypted one included).
evp_pkey_ptr read_key(std::string_view pem);

}  // namespace hit::http::detail

#pragma once
// self_signed: a throwaway TLS identity made in memory, for `hit serve --tls` without --cert and
// for tests. An ECDSA P-256 key, and a certificate for localhost, 127.0.0.1 and ::1
// (CN=localhost) signed with SHA-256 by that key, valid from an hour ago (so that a client whose
// clock is a little behind accepts it) for 30 days. Nothing is written to disk.

#include <string>

#include "hit/result.hpp"

namespace hit::http::detail {

struct self_signed_identity {
  std::string certificate_pem;
  std::string private_key_pem;  // PKCS#8, unencrypted: keep it in memory
};

// A new key and certificate on every call. Fails (one line) only when OpenSSL does. Any thread.
result<self_signed_identity> make_self_signed();

}  // namespace hit::http::detail

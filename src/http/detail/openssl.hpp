#pragma once
// Owning pointers for the OpenSSL objects hit makes, and OpenSSL's error queue as one line.

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace hit::http::detail {

template <auto Free>
struct openssl_free {
  template <class T>
  void operator()(T* p) const noexcept {
    Free(p);
  }
};
using bio_ptr = std::unique_ptr<BIO, openssl_free<BIO_free_all>>;
using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_free<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_free<X509_free>>;

// The reason of the oldest error this thread's OpenSSL queue holds ("unknown error" when it is
// empty), and the queue cleared, so that a later call does not report a stale error.
inline std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  const char* reason = e != 0 ? ERR_reason_error_string(e) : nullptr;
  return reason != nullptr ? reason : "unknown error";
}

// The SHA-256 fingerprint of `x` as `openssl x509 -fingerprint -sha256` prints it: 32 upper-case
// hex pairs joined by ':'. Empty if OpenSSL cannot hash it.
inline std::string sha256_fingerprint(const X509* x) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(x, EVP_sha256(), md, &n) != 1) {
    ERR_clear_error();
    return {};
  }
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(n * 3);
  for (unsigned int i = 0; i < n; ++i) {
    if (i > 0) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

// A read-only memory BIO over `text`, which must outlive it.
inline bio_ptr memory_bio(std::string_view text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

}  // namespace hit::http::detail

#include "detail/self_signed.hpp"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdint>

#include "detail/openssl.hpp"

namespace hit::http::detail {
namespace {

constexpr long valid_before_now_s = 60L * 60;           // an hour
constexpr long valid_after_now_s = 30L * 24 * 60 * 60;  // 30 days

failure openssl_failure(const char* what) {
  return failure{std::string("cannot make a self-signed certificate: ") + what + ": " +
                 openssl_error()};
}

// The text a memory BIO holds.
std::string contents(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// A random positive 127-bit serial: RFC 5280 asks for at most 20 octets, and for uniqueness,
// which randomness gives certificates made independently.
bool set_random_serial(X509* x) {
  const std::unique_ptr<BIGNUM, openssl_free<BN_free>> bn(BN_new());
  if (!bn || BN_rand(bn.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) return false;
  return BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x)) != nullptr;
}

bool add_extension(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
  const std::unique_ptr<X509_EXTENSION, openssl_free<X509_EXTENSION_free>> ext(
      X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;
}

}  // namespace

result<self_signed_identity> make_self_signed() {
  const evp_pkey_ptr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return openssl_failure("P-256 key");
  const x509_ptr x(X509_new());
  if (!x || X509_set_version(x.get(), X509_VERSION_3) != 1 || !set_random_serial(x.get()))
    return openssl_failure("certificate");
  if (X509_gmtime_adj(X509_getm_notBefore(x.get()), -valid_before_now_s) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x.get()), valid_after_now_s) == nullptr)
    return openssl_failure("validity");
  X509_NAME* name = X509_get_subject_name(x.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(x.get(), name) != 1 || X509_set_pubkey(x.get(), key.get()) != 1)
    return openssl_failure("name");
  // An end-entity certificate (CA:FALSE) that is its own issuer: clients trust it by holding it
  // (--cacert), and it can sign nothing else.
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  if (!add_extension(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
      !add_extension(x.get(), &ctx, NID_key_usage, "critical,digitalSignature") ||
      !add_extension(x.get(), &ctx, NID_ext_key_usage, "serverAuth") ||
      !add_extension(x.get(), &ctx, NID_subject_key_identifier, "hash") ||
      !add_extension(x.get(), &ctx, NID_authority_key_identifier, "keyid:always") ||
      !add_extension(x.get(), &ctx, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1"))
    return openssl_failure("extensions");
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) return openssl_failure("signature");

  const bio_ptr cert_out(BIO_new(BIO_s_mem()));
  const bio_ptr key_out(BIO_new(BIO_s_mem()));
  if (!cert_out || !key_out || PEM_write_bio_X509(cert_out.get(), x.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1)
    return openssl_failure("PEM");
  return self_signed_identity{contents(cert_out.get()), contents(key_out.get())};
}

}  // namespace hit::http::detail

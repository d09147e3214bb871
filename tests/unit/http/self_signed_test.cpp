// The self-signed certificate `hit serve --tls` makes: what it says, and that it holds.

#include "detail/self_signed.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>
#include <set>
#include <string>

#include "detail/openssl.hpp"

namespace {

using namespace hit::http::detail;

x509_ptr certificate_of(const self_signed_identity& id) {
  const bio_ptr in = memory_bio(id.certificate_pem);
  return x509_ptr(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
}

evp_pkey_ptr key_of(const self_signed_identity& id) {
  const bio_ptr in = memory_bio(id.private_key_pem);
  return evp_pkey_ptr(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
}

// Seconds from now to `t` (negative: in the past).
double seconds_from_now(const ASN1_TIME* t) {
  int days = 0, secs = 0;
  ASN1_TIME_diff(&days, &secs, nullptr, t);
  return days * 86400.0 + secs;
}

TEST(self_signed, a_p256_key_and_a_certificate_for_localhost_signed_by_it) {
  const auto id = make_self_signed();
  ASSERT_TRUE(id) << id.error();
  const auto x = certificate_of(*id);
  const auto key = key_of(*id);
  ASSERT_TRUE(x && key);

  char group[64] = {};
  size_t len = 0;
  EXPECT_TRUE(EVP_PKEY_is_a(key.get(), "EC"));
  ASSERT_EQ(EVP_PKEY_get_group_name(key.get(), group, sizeof group, &len), 1);
  EXPECT_STREQ(group, "prime256v1");
  EXPECT_EQ(X509_check_private_key(x.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(x.get(), key.get()), 1);  // self-signed: its own key verifies it
  EXPECT_EQ(X509_get_signature_nid(x.get()), NID_ecdsa_with_SHA256);
  EXPECT_EQ(X509_get_version(x.get()), X509_VERSION_3);

  char cn[64] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(x.get()), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "localhost");
  EXPECT_EQ(X509_NAME_cmp(X509_get_subject_name(x.get()), X509_get_issuer_name(x.get())), 0);

  EXPECT_EQ(X509_check_host(x.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(x.get(), "::1", 0), 1);
  EXPECT_NE(X509_check_host(x.get(), "example.com", 0, 0, nullptr), 1);
  // An end-entity certificate (critical CA:FALSE): it signs nothing else.
  int critical = -1;
  const std::unique_ptr<BASIC_CONSTRAINTS, openssl_free<BASIC_CONSTRAINTS_free>> bc(
      static_cast<BASIC_CONSTRAINTS*>(
          X509_get_ext_d2i(x.get(), NID_basic_constraints, &critical, nullptr)));
  ASSERT_TRUE(bc);
  EXPECT_EQ(bc->ca, 0);
  EXPECT_EQ(critical, 1);
  EXPECT_EQ(X509_check_ca(x.get()), 0);

  // From an hour ago, for 30 days (a few seconds of slack for a slow machine).
  EXPECT_NEAR(seconds_from_now(X509_get0_notBefore(x.get())), -3600.0, 60);
  EXPECT_NEAR(seconds_from_now(X509_get0_notAfter(x.get())), 30 * 86400.0, 60);
}

TEST(self_signed, trusted_as_its_own_issuer_it_verifies_for_a_tls_server) {
  const auto id = make_self_signed();
  ASSERT_TRUE(id) << id.error();
  const auto x = certificate_of(*id);
  const std::unique_ptr<X509_STORE, openssl_free<X509_STORE_free>> store(X509_STORE_new());
  const std::unique_ptr<X509_STORE_CTX, openssl_free<X509_STORE_CTX_free>> ctx(
      X509_STORE_CTX_new());
  ASSERT_EQ(X509_STORE_add_cert(store.get(), x.get()), 1);
  ASSERT_EQ(X509_STORE_CTX_init(ctx.get(), store.get(), x.get(), nullptr), 1);
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx.get()), "localhost", 0);
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
}

TEST(self_signed, every_call_makes_a_new_key_and_serial) {
  std::set<std::string> fingerprints, keys;
  for (int i = 0; i < 3; ++i) {
    const auto id = make_self_signed();
    ASSERT_TRUE(id) << id.error();
    fingerprints.insert(sha256_fingerprint(certificate_of(*id).get()));
    keys.insert(id->private_key_pem);
  }
  EXPECT_EQ(fingerprints.size(), 3u);
  EXPECT_EQ(keys.size(), 3u);
}

TEST(self_signed, the_fingerprint_reads_as_openssl_prints_it) {
  const auto id = make_self_signed();
  ASSERT_TRUE(id) << id.error();
  const std::string fp = sha256_fingerprint(certificate_of(*id).get());
  ASSERT_EQ(fp.size(), 95u);
  for (std::size_t i = 0; i < fp.size(); ++i) {
    if (i % 3 == 2) {
      EXPECT_EQ(fp[i], ':') << fp;
    } else {
      EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(fp[i])) || (fp[i] >= 'A' && fp[i] <= 'F'))
          << fp;
    }
  }
}

}  // namespace

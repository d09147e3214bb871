#include "detail/pem.hpp"

#include <openssl/pem.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "hit/printable.hpp"

namespace hit::http::detail {
namespace {

// Certificates, keys and CA bundles are small; anything larger is not one (a device, a log).
constexpr std::size_t max_pem_file = std::size_t{1} << 20;

// PEM may be encrypted; nobody is there to type the passphrase, so it is never asked for.
int no_passphrase(char*, int, int, void*) {
  return 0;
}

result<std::string> read_pem_file(const std::string& path, const std::string& what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr)
    return failure{"cannot read " + what + " " + quoted(path) + ": " + std::strerror(errno)};
  std::string text;
  char buf[16384];
  std::size_t n = 0;
  while (text.size() <= max_pem_file && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  const int err = std::ferror(f) != 0 ? errno : 0;
  std::fclose(f);
  if (err != 0)
    return failure{"cannot read " + what + " " + quoted(path) + ": " + std::strerror(err)};
  if (text.size() > max_pem_file)
    return failure{what + " " + quoted(path) + " is over 1 MiB: not a PEM file"};
  return text;
}

}  // namespace

std::string quoted(const std::string& path) {
  // Appended rather than "'" + printable(path): GCC 12 at -O3 warns (a false stringop-overflow)
  // on inserting before a temporary string.
  std::string q = "'";
  q += printable(path);
  q += '\'';
  return q;
}

std::vector<x509_ptr> read_certificates(std::string_view pem) {
  std::vector<x509_ptr> out;
  const bio_ptr in = memory_bio(pem);
  while (in) {
    x509_ptr x(PEM_read_bio_X509(in.get(), nullptr, no_passphrase, nullptr));
    if (!x) break;
    out.push_back(std::move(x));
  }
  // Reading past the last certificate leaves "no start line" behind.
  ERR_clear_error();
  return out;
}

result<std::vector<x509_ptr>> load_certificates(const std::string& path, const std::string& what) {
  auto pem = read_pem_file(path, what);
  if (!pem) return failure{pem.error()};
  auto certs = read_certificates(*pem);
  if (certs.empty())
    return failure{what + " " + quoted(path) +
                   " holds no PEM certificate (-----BEGIN CERTIFICATE-----)"};
  return certs;
}

evp_pkey_ptr read_key(std::string_view pem) {
  const bio_ptr in = memory_bio(pem);
  evp_pkey_ptr key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, no_passphrase, nullptr)
                      : nullptr);
  ERR_clear_error();
  return key;
}

result<identity> load_identity(const std::string& cert_file, const std::string& cert_what,
                               const std::string& key_file, const std::string& key_what) {
  auto chain = load_certificates(cert_file, cert_what);
  if (!chain) return failure{chain.error()};
  auto pem = read_pem_file(key_file, key_what);
  if (!pem) return failure{pem.error()};
  evp_pkey_ptr key = read_key(*pem);
  if (!key)
    return failure{key_what + " " + quoted(key_file) +
                   " holds no PEM private key, or only an encrypted one"};
  if (X509_check_private_key(chain->front().get(), key.get()) != 1) {
    ERR_clear_error();
    return failure{"the key in " + quoted(key_file) + " does not match the certificate in " +
                   quoted(cert_file)};
  }
  return identity{std::move(*chain), std::move(key)};
}

}  // namespace hit::http::detail

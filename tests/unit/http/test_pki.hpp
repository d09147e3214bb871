#pragma once
// Key material for TLS tests, made at test time with the `openssl` command in a temporary
// directory that is removed afterwards: nothing is committed. Each command is bounded by
// `timeout -k`. Valid for two days; keys ECDSA P-256 but for rsa-server's:
//
//   root.pem/.key          a CA
//   inter.pem/.key         an intermediate CA under root
//   server.pem/.key        localhost and 127.0.0.1, issued by inter; server-chain.pem: server.pem
//                          then inter.pem (what a server presents for a client trusting root)
//   client.pem/.key        a client certificate issued by root
//   stranger.pem/.key      a self-signed client certificate no CA here issued
//   named.pem/.key         localhost only (no IP address), issued by root: a host-name check
//   other.key              a key no certificate here holds
//   encrypted.key          client.key encrypted with a passphrase (which no test gives)
//   rsa-server.pem/.key    a self-signed RSA 2048 certificate for localhost and 127.0.0.1

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

namespace hit::test {

class test_pki {
 public:
  test_pki() {
    std::string dir = (std::filesystem::temp_directory_path() / "hit_pki_XXXXXX").string();
    if (mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp " + dir);
    dir_ = dir;
    write("pki.cnf", config);
    for (const char* key : {"root", "inter", "server", "client", "named", "stranger", "other"})
      openssl(std::string("genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ") + key +
              ".key");
    openssl(
        "req -config pki.cnf -new -x509 -key root.key -subj /CN=hit-test-root -days 2 "
        "-extensions root -out root.pem");
    issue("inter", "hit-test-intermediate", "root", "inter", 2);
    issue("server", "localhost", "inter", "server", 3);
    issue("client", "hit-test-client", "root", "client", 4);
    issue("named", "localhost", "root", "named", 5);
    openssl("pkey -in client.key -aes256 -passout pass:unknown -out encrypted.key");
    openssl(
        "req -config pki.cnf -new -x509 -key stranger.key -subj /CN=stranger -days 2 "
        "-extensions client -out stranger.pem");
    openssl("genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa-server.key");
    openssl(
        "req -config pki.cnf -new -x509 -key rsa-server.key -subj /CN=localhost -days 2 "
        "-extensions server -out rsa-server.pem");
    write("server-chain.pem", read("server.pem") + read("inter.pem"));
  }
  ~test_pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  [[nodiscard]] std::string path(const std::string& name) const { return (dir_ / name).string(); }
  [[nodiscard]] std::string read(const std::string& name) const {
    std::ifstream in(path(name), std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path(name), std::ios::binary) << text;
  }

 private:
  static constexpr const char* config = R"([req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[inter]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[named]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
)";

  // name.pem for subject CN=cn, issued by issuer.pem/.key with the extensions of `section`.
  void issue(const std::string& name, const std::string& cn, const std::string& issuer,
             const std::string& section, int serial) {
    openssl("req -config pki.cnf -new -key " + name + ".key -subj /CN=" + cn + " -out " + name +
            ".csr");
    openssl("x509 -req -in " + name + ".csr -CA " + issuer + ".pem -CAkey " + issuer +
            ".key -set_serial " + std::to_string(serial) +
            " -days 2 -extfile pki.cnf -extensions " + section + " -out " + name + ".pem");
  }

  void openssl(const std::string& args) const {
    const std::string cmd =
        "cd '" + dir_.string() + "' && timeout -k 5 30 openssl " + args + " >>openssl.log 2>&1";
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error("failed: openssl " + args + "\n" + read("openssl.log"));
  }

  std::filesystem::path dir_;
};

// A GoogleTest suite whose tests share one test_pki, made once for the suite (openssl is slow):
// `class my_suite : public hit::test::with_pki<> {...}`, or with_pki<some_fixture>.
template <class Base = ::testing::Test>
class with_pki : public Base {
 protected:
  static void SetUpTestSuite() { pki_ = std::make_unique<test_pki>(); }
  static void TearDownTestSuite() { pki_.reset(); }
  static inline std::unique_ptr<test_pki> pki_;
};

}  // namespace hit::test

// `hit serve --tls` end to end: the real binary on 127.0.0.1, and curl and openssl as the other
// side. Every process runs under `timeout -k` and is stopped by its PID.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "../unit/http/test_pki.hpp"
#include "harness.hpp"
#include "run_json.hpp"

namespace {

using hit::test::expect_usage_error;
using hit::test::run_hit;

using hit::test::test_pki;

// `timeout -k 5 SECONDS ARGS...`: a hang is killed even if the test's own deadline is not met.
std::vector<std::string> bounded(std::vector<std::string> args, int seconds = 20) {
  args.insert(args.begin(), {"/usr/bin/timeout", "-k", "5", std::to_string(seconds)});
  return args;
}

hit::test::result run(std::vector<std::string> args) {
  return hit::test::finish(hit::test::spawn(bounded(std::move(args))), std::chrono::seconds(30),
                           [](auto) {});
}

// `hit serve --listen 127.0.0.1:0 --tls EXTRA...`, once its first `lines` lines are out;
// stopped with SIGTERM (which timeout passes on) when destroyed.
class tls_server {
 public:
  tls_server(std::vector<std::string> extra, std::size_t lines) {
    std::vector<std::string> args = {HIT_EXE, "serve", "--listen", "127.0.0.1:0", "--tls"};
    args.insert(args.end(), extra.begin(), extra.end());
    c_ = hit::test::spawn(bounded(args, 60));
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string text;
    while (static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) < lines) {
      if (std::chrono::steady_clock::now() > give_up) {
        stop();
        throw std::runtime_error("server did not start: " + text);
      }
      pollfd p{c_.out, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char ch[256];
        const auto n = read(c_.out, ch, sizeof ch);
        if (n <= 0) {
          stop();
          throw std::runtime_error("server exited: " + text);
        }
        text.append(ch, static_cast<std::size_t>(n));
      }
    }
    for (std::size_t at = 0; at < text.size();) {
      const auto nl = text.find('\n', at);
      lines_.push_back(text.substr(at, nl - at));
      at = nl + 1;
    }
    const auto& first = lines_.front();
    const auto colon = first.rfind(':');
    port_ = first.substr(colon + 1, first.size() - colon - 2);  // "...:PORT/"
  }
  ~tls_server() { stop(); }
  tls_server(const tls_server&) = delete;
  tls_server& operator=(const tls_server&) = delete;

  [[nodiscard]] const std::vector<std::string>& lines() const { return lines_; }
  [[nodiscard]] const std::string& port() const { return port_; }
  // The fingerprint the "tls:" line ends with.
  [[nodiscard]] std::string fingerprint() const {
    const auto& l = lines_.at(1);
    return l.substr(l.rfind(' ') + 1);
  }

 private:
  void stop() {
    if (c_.pid < 0) return;
    hit::test::stop_under_timeout(c_);
    c_.pid = -1;
  }
  hit::test::child c_;
  std::vector<std::string> lines_;
  std::string port_;
};

// `curl -sS ARGS... URL` on 127.0.0.1: the body, then the status code after a space.
hit::test::result curl(const std::vector<std::string>& args, const std::string& url) {
  std::vector<std::string> all = {"curl", "-sS", "-w", " %{http_code}"};
  all.insert(all.end(), args.begin(), args.end());
  all.push_back(url);
  return run(all);
}

class tls_serve : public hit::test::with_pki<> {};

TEST_F(tls_serve, the_self_signed_certificate_is_written_and_its_fingerprint_printed) {
  const std::string written = pki_->path("self-signed.pem");
  tls_server s({"--write-cert", written}, 2);
  ASSERT_EQ(s.lines().at(0), "listening on https://127.0.0.1:" + s.port() + "/");
  EXPECT_EQ(s.lines().at(1), "tls: self-signed certificate (written to '" + written +
                                 "'), SHA-256 fingerprint " + s.fingerprint());

  // openssl reads the same fingerprint from the file written.
  const auto fp = run({"openssl", "x509", "-in", written, "-noout", "-fingerprint", "-sha256"});
  ASSERT_EQ(fp.exit_code, 0) << fp.err;
  EXPECT_EQ(fp.out.substr(fp.out.find('=') + 1), s.fingerprint() + "\n");

  // A client trusting that file verifies the server, by IP address and by name.
  const auto by_ip = curl({"--cacert", written}, "https://127.0.0.1:" + s.port() + "/?status=201");
  EXPECT_EQ(by_ip.exit_code, 0) << by_ip.err;
  EXPECT_EQ(by_ip.out, "hello from hit 201");
  const auto by_name =
      curl({"--cacert", written, "--resolve", "localhost:" + s.port() + ":127.0.0.1"},
           "https://localhost:" + s.port() + "/");
  EXPECT_EQ(by_name.exit_code, 0) << by_name.err;
  EXPECT_EQ(by_name.out, "hello from hit 200");
  // One that trusts nothing refuses it (curl: 60, peer certificate cannot be authenticated).
  const auto untrusting = curl({}, "https://127.0.0.1:" + s.port() + "/");
  EXPECT_EQ(untrusting.exit_code, 60) << untrusting.err;
}

TEST_F(tls_serve, a_chain_from_files_and_client_certificates) {
  tls_server s({"--cert", pki_->path("server-chain.pem"), "--key", pki_->path("server.key"),
                "--require-client-cert", pki_->path("root.pem")},
               3);
  EXPECT_EQ(s.lines().at(1), "tls: certificate from '" + pki_->path("server-chain.pem") +
                                 "', SHA-256 fingerprint " + s.fingerprint());
  EXPECT_EQ(s.lines().at(2), "tls: client certificates required, issued by the CAs in '" +
                                 pki_->path("root.pem") + "'");
  const auto fp = run(
      {"openssl", "x509", "-in", pki_->path("server.pem"), "-noout", "-fingerprint", "-sha256"});
  EXPECT_EQ(fp.out.substr(fp.out.find('=') + 1), s.fingerprint() + "\n");

  const std::string url = "https://localhost:" + s.port() + "/?size=5";
  const std::vector<std::string> trust = {"--cacert", pki_->path("root.pem"), "--resolve",
                                          "localhost:" + s.port() + ":127.0.0.1"};
  const auto without = curl(trust, url);
  EXPECT_NE(without.exit_code, 0) << without.out;
  EXPECT_EQ(without.out.find("hello"), std::string::npos) << without.out;
  auto with_cert = trust;
  with_cert.insert(with_cert.end(),
                   {"--cert", pki_->path("client.pem"), "--key", pki_->path("client.key")});
  const auto with = curl(with_cert, url);
  EXPECT_EQ(with.exit_code, 0) << with.err;
  EXPECT_EQ(with.out, "hello 200");
}

TEST_F(tls_serve, knobs_over_tls_with_curl) {
  const std::string written = pki_->path("knobs.pem");
  tls_server s({"--write-cert", written}, 2);
  const std::string base = "https://127.0.0.1:" + s.port() + "/";
  const auto status = curl({"--cacert", written}, base + "?status=503&size=3");
  EXPECT_EQ(status.out, "hel 503");
  // close=1 ends with close_notify: curl sees a clean end.
  const auto close = curl({"--cacert", written}, base + "?close=1");
  EXPECT_EQ(close.exit_code, 0) << close.err;
  EXPECT_EQ(close.out, "hello from hit 200");
  // hangup=1 closes TCP after the handshake without a byte: no response. An HTTP/1.1 knob: over
  // h2, which curl would otherwise get by ALPN, it is ignored.
  const auto hangup = curl({"--cacert", written, "--http1.1"}, base + "?hangup=1");
  EXPECT_NE(hangup.exit_code, 0);
  EXPECT_EQ(hangup.out, " 000");
}

TEST_F(tls_serve, files_that_cannot_serve_are_exit_2_with_one_line) {
  const std::string missing = pki_->path("missing.pem");
  pki_->write("junk.pem", "not PEM at all\n");
  expect_usage_error(
      {"serve", "--tls", "--cert", missing, "--key", pki_->path("server.key")},
      "cannot read the certificate file '" + missing + "': No such file or directory");
  expect_usage_error({"serve", "--tls", "--cert", pki_->path("server.pem"), "--key", missing},
                     "cannot read the key file");
  expect_usage_error(
      {"serve", "--tls", "--cert", pki_->path("junk.pem"), "--key", pki_->path("server.key")},
      "holds no PEM certificate");
  expect_usage_error(
      {"serve", "--tls", "--cert", pki_->path("server.pem"), "--key", pki_->path("junk.pem")},
      "holds no PEM private key");
  expect_usage_error(
      {"serve", "--tls", "--cert", pki_->path("server.pem"), "--key", pki_->path("other.key")},
      "the key in '" + pki_->path("other.key") + "' does not match the certificate in '" +
          pki_->path("server.pem") + "'");
  expect_usage_error({"serve", "--tls", "--require-client-cert", missing},
                     "cannot read the client CA file");
  expect_usage_error({"serve", "--tls", "--write-cert", pki_->path("no-such-dir/c.pem")},
                     "cannot write the certificate to");
}

TEST_F(tls_serve, options_that_do_not_go_together_are_exit_2_with_one_line) {
  const std::string c = pki_->path("server.pem"), k = pki_->path("server.key");
  expect_usage_error({"serve", "--cert", c, "--key", k}, "--cert goes with --tls");
  expect_usage_error({"serve", "--write-cert", c}, "--write-cert goes with --tls");
  expect_usage_error({"serve", "--require-client-cert", c},
                     "--require-client-cert goes with --tls");
  expect_usage_error({"serve", "--tls", "--cert", c}, "--cert needs --key");
  expect_usage_error({"serve", "--tls", "--key", k}, "--key needs --cert");
  expect_usage_error({"serve", "--tls", "--cert", c, "--key", k, "--write-cert", "x.pem"},
                     "--write-cert");
  expect_usage_error({"serve", "--tls", "--cert", "", "--key", k}, "--cert wants a file name");
}

TEST_F(tls_serve, a_port_in_use_is_still_exit_1) {
  tls_server s({}, 2);
  const auto r = run_hit({"serve", "--tls", "--listen", "127.0.0.1:" + s.port()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(r.err,
            "hit serve: cannot listen on 127.0.0.1:" + s.port() + ": Address already in use\n");
}

TEST_F(tls_serve, help_tells_about_tls) {
  const auto r = run_hit({"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* what : {"--tls", "--cert", "--key", "--write-cert", "--require-client-cert",
                           "close_notify", "https://"})
    EXPECT_NE(r.out.find(what), std::string::npos) << what;
}

}  // namespace

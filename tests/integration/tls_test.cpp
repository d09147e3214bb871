// hit over TLS against a stock nginx (ssl, one worker) on loopback, with certificates made at
// test time with the `openssl` command (test_pki.hpp): verification, trust anchors, host names,
// mutual TLS, session resumption, and the ways a handshake fails. No key material is committed.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "../unit/http/test_pki.hpp"
#include "harness.hpp"
#include "run_json.hpp"

namespace fs = std::filesystem;
using hit::test::run_hit;
using hit::test::run_json;

namespace {

// nginx serving https on one port, and https with required client certificates on another.
class tls_nginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    pki_ = std::make_unique<hit::test::test_pki>();
    dir_ = pki_->path("");
    port_ = hit::test::free_port();
    mtls_port_ = hit::test::free_port();
    const std::string d = dir_.string() + "/";
    nginx_ = std::make_unique<hit::test::nginx>(
        dir_,
        "  keepalive_requests 100000;\n  ssl_certificate " + d + "named.pem; ssl_certificate_key " +
            d + "named.key;\n  ssl_protocols TLSv1.2 TLSv1.3;\n  server { listen 127.0.0.1:" +
            std::to_string(port_) +
            " ssl;\n    location / { return 200 \"hello over tls\\n\"; } }\n"
            "  server { listen 127.0.0.1:" +
            std::to_string(mtls_port_) +
            " ssl;\n    ssl_verify_client on; ssl_client_certificate " + d +
            "root.pem;\n    location / { return 200 \"hello, client\\n\"; } }\n",
        std::vector<unsigned short>{port_, mtls_port_});
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    pki_.reset();
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up())
        << "nginx with ssl did not start, or openssl could not make certificates";
  }
  static std::string url(const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(port_) + "/";
  }
  static std::string mtls_url() { return "https://localhost:" + std::to_string(mtls_port_) + "/"; }
  static std::string file(const std::string& name) { return (dir_ / name).string(); }

  static inline std::unique_ptr<hit::test::test_pki> pki_;
  static inline fs::path dir_;
  static inline unsigned short port_ = 0, mtls_port_ = 0;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(tls_nginx, an_unknown_issuer_fails_verification_with_the_reason_and_a_hint) {
  const auto r = run_hit({"-n", "20", "-c", "2", url()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("certificate verify failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--cacert"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("-k"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.out.find("tls"), std::string::npos) << r.out;  // the report counts them
}

TEST_F(tls_nginx, insecure_skips_verification) {
  const auto j = run_json({"-n", "500", "-c", "5", "-k", url()});
  EXPECT_EQ(j["requests"], 500);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 500);
}

TEST_F(tls_nginx, cacert_verifies_the_server_and_keeps_connections_alive) {
  const auto j =
      run_json({"-n", "3000", "-c", "10", "--threads", "2", "--cacert", file("root.pem"), url()});
  EXPECT_EQ(j["requests"], 3000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 3000);
  EXPECT_EQ(j["connections"]["opened"], 10);
  EXPECT_EQ(j["bytes"].get<std::uint64_t>() > 3000u * 15, true);
}

TEST_F(tls_nginx, the_host_name_is_checked) {
  // The certificate names localhost, not 127.0.0.1.
  const auto r = run_hit({"-n", "4", "-c", "1", "--cacert", file("root.pem"), url("127.0.0.1")});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("mismatch"), std::string::npos) << r.err;
}

TEST_F(tls_nginx, sessions_are_resumed_on_reconnect_by_default) {
  const auto j =
      run_json({"-n", "200", "-c", "2", "--no-keepalive", "--cacert", file("root.pem"), url()});
  EXPECT_EQ(j["requests"], 200);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["connections"]["opened"], 200);
  const auto full = j["tls"]["full_handshakes"].get<std::uint64_t>();
  const auto resumed = j["tls"]["resumed_handshakes"].get<std::uint64_t>();
  EXPECT_EQ(full + resumed, 200u);
  // The first connect of each connection slot is full; nearly all the rest resume.
  EXPECT_GE(resumed, 150u) << j["tls"].dump();
  EXPECT_GT(j["tls_handshake_s"]["p50"].get<double>(), 0.0);
}

TEST_F(tls_nginx, no_tls_resume_makes_every_handshake_full) {
  const auto j = run_json({"-n", "100", "-c", "2", "--no-keepalive", "--no-tls-resume", "--cacert",
                           file("root.pem"), url()});
  EXPECT_EQ(j["requests"], 100);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["tls"]["full_handshakes"], 100);
  EXPECT_EQ(j["tls"]["resumed_handshakes"], 0);
}

// A TLS 1.3 server sends session tickets after the handshake: a connection that waits (a
// pacing wait, the open model's idle list) finds records that are not data, and must not take
// them for an unsolicited response.
TEST_F(tls_nginx, idle_connections_take_session_tickets_in_and_stay_in_use) {
  const auto open = run_json(
      {"--rate", "100", "-z", "2s", "--workers", "4", "--cacert", file("root.pem"), url()});
  EXPECT_EQ(open["requests"], 200);
  EXPECT_EQ(open["errors"], 0);
  EXPECT_EQ(open["unsolicited"], 0) << open.dump();
  const auto paced =
      run_json({"-n", "100", "--rps", "200", "-c", "2", "--cacert", file("root.pem"), url()});
  EXPECT_EQ(paced["errors"], 0);
  EXPECT_EQ(paced["unsolicited"], 0);
  EXPECT_EQ(paced["connections"]["opened"], 2);
}

TEST_F(tls_nginx, tls_1_3_only_and_cipher_choices_pass_through) {
  auto j = run_json({"-n", "50", "-c", "2", "--tls-min", "1.3", "--tls13-ciphers",
                     "TLS_CHACHA20_POLY1305_SHA256", "--cacert", file("root.pem"), url()});
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 50);
  const auto r = run_hit({"-n", "5", "--ciphers", "NOT-A-CIPHER", "-k", url()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--ciphers"), std::string::npos) << r.err;
}

TEST_F(tls_nginx, mutual_tls_with_and_without_a_client_certificate) {
  const auto with = run_json({"-n", "100", "-c", "2", "--cacert", file("root.pem"), "--cert",
                              file("client.pem"), "--key", file("client.key"), mtls_url()});
  EXPECT_EQ(with["errors"], 0);
  EXPECT_EQ(with["status_codes"]["200"], 100);
  // Without one, nginx answers 400 ("No required SSL certificate was sent") over TLS.
  const auto without = run_json({"-n", "10", "-c", "1", "--cacert", file("root.pem"), mtls_url()});
  EXPECT_EQ(without["status_codes"]["400"], 10) << without.dump();
}

TEST_F(tls_nginx, bad_client_certificate_files_are_usage_errors_before_any_traffic) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--cert", "/nonexistent.pem", "--key", file("client.key")},
           {"--cert", file("client.pem"), "--key", "/nonexistent.key"},
           {"--cert", file("client.pem"), "--key", file("other.key")},
           {"--cacert", "/nonexistent-ca.pem"},
           {"-k", "--cacert", "/nonexistent-ca.pem"},
           {"--cert", file("client.pem"), "--key", file("encrypted.key")}}) {
    auto a = args;
    a.insert(a.end(), {"-n", "5", mtls_url()});
    const auto r = run_hit(a);
    EXPECT_EQ(r.exit_code, 2) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  }
  const auto r = run_hit({"--cert", file("client.pem"), "--key", file("other.key"), mtls_url()});
  EXPECT_NE(r.err.find("does not match"), std::string::npos) << r.err;
  // An encrypted key is refused, never prompted for: nobody is there to type a passphrase.
  const auto e =
      run_hit({"--cert", file("client.pem"), "--key", file("encrypted.key"), mtls_url()});
  EXPECT_NE(e.err.find("only an encrypted one"), std::string::npos) << e.err;
}

}  // namespace

// Handshake failures that are not about certificates: the wrong protocol, and silence.
TEST(tls, a_plaintext_server_on_an_https_url_gives_tls_errors_not_a_hang) {
  hit::test::server srv;
  auto u = srv.url();
  u.replace(0, 4, "https");
  const auto r =
      run_hit({"-n", "20", "-c", "2", "-t", "2s", u, "-o", "json"}, std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors_by_kind"]["tls"], 20) << r.out;
  EXPECT_LT(r.seconds, 10.0);
}

// A listening socket on loopback nobody accepts from: the kernel completes TCP (up to the
// backlog), nothing speaks TLS.
struct silent_listener {
  explicit silent_listener(int backlog) {
    fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(fd, backlog) != 0 || getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      throw std::runtime_error("silent_listener: cannot listen on loopback");
    url = "https://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  }
  ~silent_listener() { close(fd); }
  silent_listener(const silent_listener&) = delete;
  silent_listener& operator=(const silent_listener&) = delete;
  int fd = -1;
  std::string url;
};

// This process's descriptor limit raised to its hard one for a test's life (programs started
// meanwhile inherit it); enough() when that allows 1100 connections on each side.
class raised_fd_limit {
 public:
  raised_fd_limit() {
    getrlimit(RLIMIT_NOFILE, &saved_);
    rlimit raised = saved_;
    raised.rlim_cur = raised.rlim_max;
    setrlimit(RLIMIT_NOFILE, &raised);
  }
  ~raised_fd_limit() { setrlimit(RLIMIT_NOFILE, &saved_); }
  raised_fd_limit(const raised_fd_limit&) = delete;
  raised_fd_limit& operator=(const raised_fd_limit&) = delete;
  [[nodiscard]] bool enough() const {
    return saved_.rlim_max == RLIM_INFINITY || saved_.rlim_max >= 4096;
  }
  [[nodiscard]] rlim_t hard() const { return saved_.rlim_max; }

 private:
  rlimit saved_{};
};

TEST(tls, a_server_that_never_answers_the_handshake_times_out_within_t) {
  const silent_listener l(16);
  const auto r = run_hit({"-n", "2", "-c", "2", "-t", "500ms", "-k", l.url, "-o", "json"},
                         std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors_by_kind"]["connect_timeout"], 2) << r.out;
  EXPECT_LT(r.seconds, 5.0);
}

TEST(tls, connections_waiting_for_a_handshake_slot_time_out_within_t_too) {
  // More connections than a loop runs handshakes at once (event_loop::max_handshakes, 1024):
  // those beyond wait for a slot, and their deadline holds while they wait.
  const silent_listener l(4096);
  const auto r =
      run_hit({"-n", "1100", "-c", "1100", "--threads", "1", "-t", "1s", "-k", l.url, "-o", "json"},
              std::chrono::seconds(30));
  if (r.exit_code == 2 && r.err.find("file descriptors") != std::string::npos)
    GTEST_SKIP() << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["requests"], 1100) << r.out;
  EXPECT_EQ(j["errors_by_kind"]["connect_timeout"], 1100) << r.out;
  EXPECT_LT(r.seconds, 10.0);
}

TEST(tls, at_most_1024_handshakes_run_at_once_on_a_loop) {
  // The listener accepts every connection and never answers: a connection that holds a
  // handshake slot has sent its ClientHello, one that waits for a slot has sent nothing. Counted
  // once they stop coming, before any deadline (-t 8s): exactly event_loop::max_handshakes
  // (1024) of 1100.
  const raised_fd_limit fds;
  if (!fds.enough())
    GTEST_SKIP() << "the descriptor limit is " << fds.hard() << "; 1100 connections need more";
  const silent_listener l(4096);
  fcntl(l.fd, F_SETFL, O_NONBLOCK);
  std::vector<int> accepted;
  std::size_t hellos = 0;
  std::thread counter([&] {
    // Until every connection is accepted and no new ClientHello came for 1 s (at most 6 s).
    std::vector<bool> spoke;
    const auto start = std::chrono::steady_clock::now();
    auto last_change = start;
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(6)) {
      for (int fd; (fd = accept(l.fd, nullptr, nullptr)) >= 0;) {
        accepted.push_back(fd);
        spoke.push_back(false);
        last_change = std::chrono::steady_clock::now();
      }
      char b[512];
      for (std::size_t i = 0; i < accepted.size(); ++i)
        if (!spoke[i] && recv(accepted[i], b, sizeof b, MSG_DONTWAIT) > 0) {
          spoke[i] = true;
          last_change = std::chrono::steady_clock::now();
        }
      if (accepted.size() >= 1100 &&
          std::chrono::steady_clock::now() - last_change > std::chrono::seconds(1))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    hellos = static_cast<std::size_t>(std::count(spoke.begin(), spoke.end(), true));
  });
  const auto r =
      run_hit({"-n", "1100", "-c", "1100", "--threads", "1", "-t", "8s", "-k", l.url, "-o", "json"},
              std::chrono::seconds(30));
  counter.join();
  for (const int fd : accepted) close(fd);
  if (r.exit_code == 2 && r.err.find("file descriptors") != std::string::npos)
    GTEST_SKIP() << r.err;
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(accepted.size(), 1100u);
  EXPECT_EQ(hellos, 1024u);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors_by_kind"]["connect_timeout"], 1100) << r.out;
}

TEST(tls, more_connections_than_handshake_slots_all_connect_and_are_counted) {
  // hit serve inherits the raised descriptor limit.
  const raised_fd_limit fds;
  if (!fds.enough())
    GTEST_SKIP() << "the descriptor limit is " << fds.hard() << "; 1100 connections need more";
  hit::test::server srv({"--tls"});
  const auto j = run_json({"-n", "3300", "-c", "1100", "--threads", "1", "-k", srv.url()});
  EXPECT_EQ(j["requests"], 3300);
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["200"], 3300);
  EXPECT_EQ(j["connections_opened"], 1100);
  EXPECT_EQ(j["tls"]["full_handshakes"].get<int>() + j["tls"]["resumed_handshakes"].get<int>(),
            1100);
}

// Against `hit serve --tls`, with the certificate it made and wrote for us.
class hit_to_serve_tls : public ::testing::Test {
 protected:
  void SetUp() override {
    cert_ = (fs::temp_directory_path() / ("hit-serve-cert-" + std::to_string(getpid()) + ".pem"))
                .string();
    srv_ = std::make_unique<hit::test::server>(
        std::vector<std::string>{"--tls", "--write-cert", cert_});
  }
  void TearDown() override {
    srv_.reset();
    fs::remove(cert_);
  }
  std::string cert_;
  std::unique_ptr<hit::test::server> srv_;
};

TEST_F(hit_to_serve_tls, its_own_certificate_is_refused_until_trusted) {
  const auto refused = run_hit({"-n", "5", "-c", "1", srv_->url()});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("self-signed certificate"), std::string::npos) << refused.err;
  const auto trusted = run_json({"-n", "300", "-c", "3", "--cacert", cert_, srv_->url()});
  EXPECT_EQ(trusted["errors"], 0);
  EXPECT_EQ(trusted["status_codes"]["200"], 300);
  const auto insecure = run_json({"-n", "30", "-c", "3", "-k", srv_->url()});
  EXPECT_EQ(insecure["status_codes"]["200"], 30);
}

// A server that closes kept-alive connections without close_notify (drop=1: what an idle
// timeout looks like): each next request meets a stale connection and is resent once, on a
// connection that resumes the session.
TEST_F(hit_to_serve_tls, a_close_without_close_notify_is_the_stale_keep_alive_case) {
  const auto j = run_json({"-n", "100", "-c", "1", "--cacert", cert_, srv_->url("?drop=1")});
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["200"], 100);
  EXPECT_GE(j["retries"].get<int>(), 90) << j.dump();
  EXPECT_GE(j["tls"]["resumed_handshakes"].get<int>(), 90) << j["tls"].dump();
}

// A request written in several TLS records (a body over 4 KiB) to a connection the server has
// closed: the second write meets a reset connection. It must be resent, not kill hit with
// SIGPIPE (OpenSSL writes with write(2), without MSG_NOSIGNAL).
TEST_F(hit_to_serve_tls, a_large_request_on_a_closed_connection_is_resent_not_a_sigpipe) {
  const hit::test::temp_file body("tls_body", 1, 'b');
  for (const std::vector<std::string>& mode :
       {std::vector<std::string>{}, std::vector<std::string>{"--rps", "50"}}) {
    std::vector<std::string> args = {"-n",
                                     "30",
                                     "-c",
                                     "1",
                                     "-m",
                                     "POST",
                                     "-D",
                                     body.path(),
                                     "--cacert",
                                     cert_,
                                     srv_->url("?drop=1")};
    args.insert(args.end(), mode.begin(), mode.end());
    const auto j = run_json(args);
    EXPECT_EQ(j["errors"], 0) << j.dump();
    EXPECT_EQ(j["status_codes"]["200"], 30);
    EXPECT_GE(j["retries"].get<int>(), 25) << j.dump();
  }
}

TEST_F(hit_to_serve_tls, faults_over_tls_are_counted_by_kind) {
  auto j = run_json({"-n", "20", "-c", "2", "-k", srv_->url("?reset=1")});
  EXPECT_EQ(j["errors_by_kind"]["reset"], 20) << j.dump();
  j = run_json({"-n", "20", "-c", "2", "-k", srv_->url("?garbage=1")});
  EXPECT_EQ(j["errors_by_kind"]["malformed"], 20) << j.dump();
  j = run_json({"-n", "20", "-c", "2", "-k", srv_->url("?status=503&size=20000&chunked=1")});
  EXPECT_EQ(j["status_codes"]["503"], 20) << j.dump();
  EXPECT_GT(j["bytes"].get<std::uint64_t>(), 20u * 20000);
  j = run_json({"-n", "10", "-c", "2", "-t", "300ms", "-k", srv_->url("?delay=2s")});
  EXPECT_EQ(j["errors_by_kind"]["timeout"], 10) << j.dump();
}

TEST(hit_to_serve_tls_mtls, a_client_certificate_is_required_and_accepted) {
  const hit::test::test_pki pki;
  const fs::path dir = pki.path("");
  {
    hit::test::server srv({"--tls", "--cert", (dir / "server-chain.pem").string(), "--key",
                           (dir / "server.key").string(), "--require-client-cert",
                           (dir / "root.pem").string()});
    auto u = srv.url();
    u.replace(u.find("127.0.0.1"), 9, "localhost");
    const auto ca = (dir / "root.pem").string();
    const auto without = run_hit({"-n", "5", "-c", "1", "--cacert", ca, u, "-o", "json"});
    const auto jw = nlohmann::json::parse(without.out);
    // TLS 1.3: the server's refusal arrives after the client's handshake completed, as an
    // alert on the first read: an error of kind tls for every request, so the run could not be
    // done (exit 1), and the message says what would help.
    EXPECT_EQ(jw["errors"], 5) << without.out;
    EXPECT_EQ(jw["errors_by_kind"]["tls"], 5) << without.out;
    EXPECT_EQ(without.exit_code, 1) << without.err;
    EXPECT_NE(without.err.find("certificate required"), std::string::npos) << without.err;
    EXPECT_NE(without.err.find("--cert FILE --key FILE"), std::string::npos) << without.err;
    EXPECT_EQ(without.err.find("--cacert"), std::string::npos) << without.err;
    const auto with =
        run_json({"-n", "200", "-c", "2", "--cacert", ca, "--cert", (dir / "client.pem").string(),
                  "--key", (dir / "client.key").string(), u});
    EXPECT_EQ(with["errors"], 0);
    EXPECT_EQ(with["status_codes"]["200"], 200);
  }
}

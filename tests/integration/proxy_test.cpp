// -x/--proxy against a stock proxy (Debian's tinyproxy, one open and one that asks for Basic
// credentials) in front of a stock nginx: http:// requests in absolute form (nginx answers 200
// only to what a proxy forwarded), https:// through CONNECT tunnels with TLS verified end to end
// over HTTP/1.1 and HTTP/2 (nginx answers 400 if the proxy's credentials reached it), and a
// refusal said in one line. A scripted proxy on loopback plays the faults tinyproxy does not:
// an answer that is not HTTP, bytes after the answer, a close before it, no answer at all.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "../unit/http/test_pki.hpp"
#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_hit;
using hit::test::run_json;

namespace {

constexpr const char* tinyproxy_path = "/usr/bin/tinyproxy";
// "Basic " + base64("hit:secret")
constexpr const char* credentials = "Proxy-Authorization: Basic aGl0OnNlY3JldA==";

// tinyproxy in the foreground on 127.0.0.1:port, with `extra` lines of configuration; stopped
// by SIGTERM when destroyed.
class tinyproxy {
 public:
  tinyproxy(const std::filesystem::path& conf, unsigned short port, const std::string& extra)
      : port_(port) {
    std::ofstream(conf) << "Port " << port << "\nListen 127.0.0.1\nTimeout 30\nMaxClients 100\n"
                        << "Allow 127.0.0.1\nLogLevel Critical\n"
                        << extra;
    // Bounded even if this process dies without stopping it (timeout passes SIGTERM on).
    c_ = hit::test::spawn(
        {"/usr/bin/timeout", "-k", "2", "300", tinyproxy_path, "-d", "-c", conf.string()});
    for (int i = 0; i < 100 && !hit::test::accepting(port); ++i) usleep(50'000);
    up_ = hit::test::accepting(port);
  }
  ~tinyproxy() { hit::test::stop_under_timeout(c_); }
  tinyproxy(const tinyproxy&) = delete;
  tinyproxy& operator=(const tinyproxy&) = delete;
  [[nodiscard]] bool up() const { return up_; }
  [[nodiscard]] std::string at() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  hit::test::child c_;
  unsigned short port_;
  bool up_ = false;
};

class proxy_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!installed()) return;
    pki_ = std::make_unique<hit::test::test_pki>();
    const auto dir = std::filesystem::path(pki_->path(""));
    const std::string d = dir.string() + "/";
    for (auto* p : {&plain_, &tls_, &open_, &auth_}) *p = hit::test::free_port();
    const auto port = [](unsigned short p) { return std::to_string(p); };
    nginx_ = std::make_unique<hit::test::nginx>(
        dir,
        // Only what a proxy forwarded carries Via.
        "  server { listen 127.0.0.1:" + port(plain_) +
            ";\n    location / { if ($http_via = \"\") { return 403; } return 200 \"origin\\n\"; } "
            "}\n" +
            // The proxy's credentials are the proxy's: if they reach the server, 400.
            "  server { listen 127.0.0.1:" + port(tls_) + " ssl http2; ssl_certificate " + d +
            "server-chain.pem; ssl_certificate_key " + d + "server.key;\n" +
            "    location / { if ($http_proxy_authorization != \"\") { return 400; } return 200 "
            "\"tunnelled\\n\"; } }\n",
        std::vector<unsigned short>{plain_, tls_});
    open_proxy_ = std::make_unique<tinyproxy>(dir / "open.conf", open_, "");
    auth_proxy_ = std::make_unique<tinyproxy>(dir / "auth.conf", auth_, "BasicAuth hit secret\n");
  }
  static void TearDownTestSuite() {
    open_proxy_.reset();
    auth_proxy_.reset();
    nginx_.reset();
    pki_.reset();
  }
  static bool installed() {
    return hit::test::nginx::installed() && std::filesystem::exists(tinyproxy_path);
  }
  void SetUp() override {
    if (!installed()) GTEST_SKIP() << "nginx or tinyproxy is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx did not start";
    ASSERT_TRUE(open_proxy_->up() && auth_proxy_->up()) << "tinyproxy did not start";
  }
  static std::string plain_url() { return "http://127.0.0.1:" + std::to_string(plain_) + "/"; }
  static std::string tls_url() { return "https://localhost:" + std::to_string(tls_) + "/"; }

  static inline std::unique_ptr<hit::test::test_pki> pki_;
  static inline unsigned short plain_ = 0, tls_ = 0, open_ = 0, auth_ = 0;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
  static inline std::unique_ptr<tinyproxy> open_proxy_, auth_proxy_;
};

TEST_F(proxy_test, http_requests_go_to_the_proxy_in_absolute_form) {
  // Straight to nginx: no Via, 403 for all.
  EXPECT_EQ(run_json({"-n", "40", "-c", "2", plain_url()})["status_codes"]["403"], 40);
  const auto j = run_json({"-n", "40", "-c", "2", "-x", open_proxy_->at(), plain_url()});
  EXPECT_EQ(j["status_codes"]["200"], 40) << j.dump();
  EXPECT_EQ(j["proxy"], open_proxy_->at());
  // http:// with a scheme and a trailing slash is the same proxy.
  EXPECT_EQ(run_json({"-n", "10", "-c", "1", "-x", "http://" + open_proxy_->at() + "/",
                      plain_url()})["status_codes"]["200"],
            10);
  const auto text = run_hit({"-n", "1", "-c", "1", "-x", open_proxy_->at(), plain_url()});
  EXPECT_NE(text.out.find("Connected to:  " + open_proxy_->at() + " (the proxy)"),
            std::string::npos)
      << text.out;
}

TEST_F(proxy_test, proxy_credentials_go_in_a_header) {
  // Without them the proxy answers 407 itself: a response, counted by status.
  EXPECT_EQ(run_json({"-n", "10", "-c", "1", "-x", auth_proxy_->at(),
                      plain_url()})["status_codes"]["407"],
            10);
  EXPECT_EQ(run_json({"-n", "10", "-c", "1", "-x", auth_proxy_->at(), "-H", credentials,
                      plain_url()})["status_codes"]["200"],
            10);
}

TEST_F(proxy_test, https_goes_through_a_connect_tunnel_verified_end_to_end) {
  const auto ca = pki_->path("root.pem");
  for (const std::string http : {"1.1", "2", "auto"}) {
    const auto j = run_json({"-n", "60", "-c", "3", "--http", http, "--cacert", ca, "-x",
                             auth_proxy_->at(), "-H", credentials, tls_url()});
    // 200: the tunnel carried TLS to nginx, the certificate checked against localhost, and the
    // credentials stayed with the proxy (nginx would answer 400).
    EXPECT_EQ(j["status_codes"]["200"], 60) << http << ": " << j.dump();
    EXPECT_EQ(j["connections_opened"], 3) << http;  // kept alive inside the tunnels
  }
  // The certificate is still checked through the tunnel: one nobody trusts fails.
  const auto untrusted =
      run_hit({"-n", "5", "-c", "1", "-x", open_proxy_->at(), tls_url(), "-o", "json"});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_NE(untrusted.err.find("verify failed"), std::string::npos) << untrusted.err;
}

TEST_F(proxy_test, a_refused_tunnel_is_one_line_and_exit_1) {
  const auto r = run_hit({"-n", "8", "-c", "2", "--cacert", pki_->path("root.pem"), "-x",
                          auth_proxy_->at(), tls_url(), "-o", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors_by_kind"]["proxy"], 8) << r.out;
  EXPECT_EQ(j["requests"], 8);
  EXPECT_NE(r.err.find("hit: no tunnel through the proxy " + auth_proxy_->at() +
                       " to localhost:" + std::to_string(tls_) +
                       ": the proxy refused the tunnel: 407 Proxy Authentication Required"),
            std::string::npos)
      << r.err;
}

// A proxy on loopback that answers every connection with `answer` (then closes), or with
// nothing at all (it holds the connection until the test ends).
class scripted_proxy {
 public:
  explicit scripted_proxy(std::string answer, bool hold = false) {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(listener_, 16);
    socklen_t len = sizeof a;
    getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, answer = std::move(answer), hold] {
      std::vector<int> held;
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!stop_ && std::chrono::steady_clock::now() < give_up) {
        pollfd p{listener_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        const int c = accept(listener_, nullptr, nullptr);
        if (c < 0) continue;
        // Read the CONNECT request to its end, keep its first line.
        std::string got;
        char buf[1024];
        while (got.find("\r\n\r\n") == std::string::npos) {
          pollfd q{c, POLLIN, 0};
          if (poll(&q, 1, 5000) <= 0) break;
          const auto n = read(c, buf, sizeof buf);
          if (n <= 0) break;
          got.append(buf, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard lock(m_);
          if (first_line_.empty()) first_line_ = got.substr(0, got.find("\r\n"));
        }
        if (hold) {
          held.push_back(c);
          continue;
        }
        (void)!write(c, answer.data(), answer.size());
        close(c);
      }
      for (const int c : held) close(c);
    });
  }
  ~scripted_proxy() {
    stop_ = true;
    thread_.join();
    close(listener_);
  }
  scripted_proxy(const scripted_proxy&) = delete;
  scripted_proxy& operator=(const scripted_proxy&) = delete;
  [[nodiscard]] std::string at() const { return "127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] std::string first_line() {
    std::lock_guard lock(m_);
    return first_line_;
  }

 private:
  int listener_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex m_;
  std::string first_line_;
  std::thread thread_;
};

TEST(proxy_faults, a_bad_answer_to_connect_fails_the_tunnel_with_its_reason) {
  struct fault {
    std::string answer, reason;
  };
  for (const auto& [answer, reason] : std::vector<fault>{
           {"SSH-2.0-OpenSSH\r\n\r\n",
            "the proxy's answer to CONNECT is not HTTP: 'SSH-2.0-OpenSSH'"},
           {"HTTP/1.1 200 OK\r\n\r\nxx", "the proxy sent bytes after its answer to CONNECT"},
           {"HTTP/1.1 200 OK\r\n", "the proxy closed the connection without answering CONNECT"},
           {"HTTP/1.0 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n",
            "the proxy refused the tunnel: 502 Bad Gateway"}}) {
    scripted_proxy proxy(answer);
    // Nothing listens at the URL's port: only the proxy is ever reached.
    const auto r =
        run_hit({"-n", "4", "-c", "2", "-k", "-x", proxy.at(), "https://[::1]:9/", "-o", "json"});
    EXPECT_EQ(r.exit_code, 1) << reason;
    EXPECT_NE(r.err.find(reason), std::string::npos) << r.err;
    EXPECT_EQ(nlohmann::json::parse(r.out)["errors_by_kind"]["proxy"], 4) << r.out;
    // CONNECT names the port always, an IPv6 literal in brackets.
    EXPECT_EQ(proxy.first_line(), "CONNECT [::1]:9 HTTP/1.1");
  }
}

// A proxy whose answer ends its lines with a bare LF (RFC 9112 2.2 lets a recipient take one):
// the tunnel opens, and the TLS handshake goes on to a server that is not there (the scripted
// proxy closes), which is no proxy error.
TEST(proxy_faults, an_answer_with_bare_line_feeds_opens_the_tunnel) {
  scripted_proxy proxy("HTTP/1.1 200 Connection established\n\n");
  const auto r =
      run_hit({"-n", "2", "-c", "1", "-k", "-x", proxy.at(), "https://[::1]:9/", "-o", "json"});
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["errors_by_kind"]["proxy"], 0) << r.out << r.err;
  EXPECT_EQ(j["requests"], 2);
}

TEST(proxy_faults, a_proxy_that_never_answers_is_a_connect_timeout) {
  scripted_proxy proxy("", true);
  const auto r =
      run_json({"-n", "3", "-c", "3", "-t", "300ms", "-k", "-x", proxy.at(), "https://localhost/"});
  EXPECT_EQ(r["errors_by_kind"]["connect_timeout"], 3) << r.dump();
  EXPECT_EQ(proxy.first_line(), "CONNECT localhost:443 HTTP/1.1");
}

}  // namespace

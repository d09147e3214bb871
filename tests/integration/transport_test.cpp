// The transport knobs against a stock nginx on loopback: --connect-to and --host (the Host
// header nginx routes by, HTTP/1.1 and h2c; over TLS the SNI nginx picks its certificate by, and
// the name that certificate is checked against, with certificates made at test time), -4/-6 (nginx
// on [::1] only), --local-address (nginx answers 200 only to 127.0.0.2).

#include <gtest/gtest.h>

#include <fstream>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "../unit/http/test_pki.hpp"
#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_hit;
using hit::test::run_json;

namespace {

// Whether this machine has ::1 (a container may run without IPv6).
bool has_ipv6_loopback() {
  const int fd = socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  a.sin6_addr = in6addr_loopback;
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  close(fd);
  return ok;
}

class transport_nginx : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    ipv6_ = has_ipv6_loopback();
    pki_ = std::make_unique<hit::test::test_pki>();
    const auto dir = std::filesystem::path(pki_->path(""));
    for (auto* p : {&named_, &h2c_, &v6_, &local_, &tls_}) *p = hit::test::free_port();
    const auto port = [](unsigned short p) { return std::to_string(p); };
    const std::string d = dir.string() + "/";
    dir_ = dir;
    // By Host: api.example.test gets 200, any other name the default server's 421.
    const auto by_host = [&](unsigned short p, const std::string& how) {
      const std::string listen = "listen 127.0.0.1:" + port(p) + how;
      return "  server { " + listen + " default_server; location / { return 421; } }\n" +
             "  server { " + listen + "; server_name api.example.test;\n" +
             "    location / { return 200 \"api\\n\"; } }\n";
    };
    nginx_ = std::make_unique<hit::test::nginx>(
        dir,
        by_host(named_, "") + by_host(h2c_, " http2") +
            (ipv6_ ? "  server { listen [::1]:" + port(v6_) +
                         "; location / { return 200 \"v6\\n\"; } }\n"
                   : std::string()) +
            "  server { listen 127.0.0.1:" + port(local_) +
            ";\n    if ($remote_addr != 127.0.0.2) { return 403; }\n    return 200 \"from "
            "127.0.0.2\\n\"; }\n" +
            // Unix sockets: plain, h2c, and TLS with the certificate for localhost.
            "  server { listen unix:" + socket("plain") + "; listen unix:" + socket("h2c") +
            " http2;\n    location / { return 200 \"unix\\n\"; } }\n" + "  server { listen unix:" +
            socket("tls") + " ssl; ssl_certificate " + d + "named.pem; ssl_certificate_key " + d +
            "named.key;\n" + "    location / { return 200 \"unix tls\\n\"; } }\n" +
            // By SNI: the default server's certificate is from an issuer nobody trusts; the
            // server named localhost has a certificate for localhost only (no address).
            "  server { listen 127.0.0.1:" + port(tls_) + " ssl default_server; ssl_certificate " +
            d + "stranger.pem; ssl_certificate_key " + d + "stranger.key;\n" +
            "    location / { return 421; } }\n" + "  server { listen 127.0.0.1:" + port(tls_) +
            " ssl; server_name localhost;\n" + "    ssl_certificate " + d +
            "named.pem; ssl_certificate_key " + d + "named.key;\n" +
            "    location / { return 200 \"tls\\n\"; } }\n",
        std::vector<unsigned short>{named_, h2c_, local_, tls_});
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    pki_.reset();
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx did not start";
  }
  static std::string at(unsigned short port) { return "127.0.0.1:" + std::to_string(port); }
  static std::string socket(const std::string& name) { return (dir_ / (name + ".sock")).string(); }
  static inline std::filesystem::path dir_;

  static inline std::unique_ptr<hit::test::test_pki> pki_;
  static inline unsigned short named_ = 0, h2c_ = 0, v6_ = 0, local_ = 0, tls_ = 0;
  static inline bool ipv6_ = false;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(transport_nginx, connect_to_keeps_the_urls_host_header) {
  // api.example.test resolves nowhere: only --connect-to makes this run possible.
  const auto j =
      run_json({"-n", "50", "-c", "2", "--connect-to", at(named_), "http://api.example.test/"});
  EXPECT_EQ(j["status_codes"]["200"], 50) << j.dump();
  EXPECT_EQ(j["connect_to"], at(named_));
  const auto text =
      run_hit({"-n", "1", "-c", "1", "--connect-to", at(named_), "http://api.example.test/"});
  EXPECT_NE(text.out.find("Connected to:  " + at(named_) + " (--connect-to)"), std::string::npos)
      << text.out;
  // The results file keeps it: hit report says it again.
  const auto saved = std::filesystem::temp_directory_path() /
                     ("hit_transport_" + std::to_string(::getpid()) + ".json");
  ASSERT_EQ(run_hit({"-n", "1", "-c", "1", "--connect-to", at(named_), "--save", saved.string(),
                     "http://api.example.test/"})
                .exit_code,
            0);
  const auto back = run_hit({"report", saved.string()});
  std::filesystem::remove(saved);
  EXPECT_NE(back.out.find("Connected to:  " + at(named_) + " (--connect-to)"), std::string::npos)
      << back.out;
}

TEST_F(transport_nginx, host_sets_the_host_header_over_http1_and_h2c) {
  const std::string url = "http://" + at(named_) + "/";
  EXPECT_EQ(run_json({"-n", "30", "-c", "2", url})["status_codes"]["421"], 30);
  EXPECT_EQ(
      run_json({"-n", "30", "-c", "2", "--host", "api.example.test", url})["status_codes"]["200"],
      30);
  const std::string h2c = "http://" + at(h2c_) + "/";
  EXPECT_EQ(run_json({"-n", "30", "-c", "2", "--h2", h2c})["status_codes"]["421"], 30);
  EXPECT_EQ(run_json({"-n", "30", "-c", "2", "--h2", "--host", "api.example.test",
                      h2c})["status_codes"]["200"],
            30);
}

TEST_F(transport_nginx, host_and_connect_to_name_the_tls_server) {
  const auto ca = pki_->path("root.pem");
  // The certificate names localhost, not 127.0.0.1: verification fails without --host.
  const auto fails = run_hit({"-n", "5", "-c", "1", "--cacert", ca, "https://" + at(tls_) + "/"});
  EXPECT_EQ(fails.exit_code, 1) << fails.err;
  EXPECT_NE(fails.err.find("TLS handshake with " + at(tls_)), std::string::npos) << fails.err;
  // -H 'Host: localhost' changes the header, not SNI: no name is sent for 127.0.0.1, nginx
  // answers with its default server's certificate, which nothing here trusts.
  const auto header_only = run_hit(
      {"-n", "5", "-c", "1", "--cacert", ca, "-H", "Host: localhost", "https://" + at(tls_) + "/"});
  EXPECT_EQ(header_only.exit_code, 1) << header_only.err;
  EXPECT_NE(header_only.err.find("certificate verify failed"), std::string::npos)
      << header_only.err;
  EXPECT_NE(header_only.err.find("--host NAME does"), std::string::npos) << header_only.err;
  // So does a target's own Host header.
  const hit::test::temp_dir d("hit_host_target_");
  const auto targets = (d.path / "t.txt").string();
  std::ofstream(targets) << "GET https://" << at(tls_) << "/\nHost: localhost\n";
  const auto target_host = run_hit({"-n", "5", "-c", "1", "--cacert", ca, "--targets", targets});
  EXPECT_EQ(target_host.exit_code, 1) << target_host.err;
  EXPECT_NE(target_host.err.find("--host NAME does"), std::string::npos) << target_host.err;
  const auto named = run_json(
      {"-n", "40", "-c", "2", "--cacert", ca, "--host", "localhost", "https://" + at(tls_) + "/"});
  EXPECT_EQ(named["status_codes"]["200"], 40);
  EXPECT_EQ(named["errors"], 0);
  // The URL's host is the TLS name; its port (1) is never used.
  const auto to = run_json(
      {"-n", "40", "-c", "2", "--cacert", ca, "--connect-to", at(tls_), "https://localhost:1/"});
  EXPECT_EQ(to["status_codes"]["200"], 40);
}

TEST_F(transport_nginx, ip_families) {
  if (!ipv6_) GTEST_SKIP() << "no IPv6 loopback (::1) on this machine";
  const std::string v6 = "http://[::1]:" + std::to_string(v6_) + "/";
  EXPECT_EQ(run_json({"-n", "20", "-c", "2", "-6", v6})["status_codes"]["200"], 20);
  const auto none = run_hit({"-n", "20", "-c", "2", "-4", v6});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("'::1' has no IPv4 address (-4)"), std::string::npos) << none.err;
  const auto v4 = run_hit({"-n", "20", "-c", "2", "-6", "http://" + at(named_) + "/"});
  EXPECT_EQ(v4.exit_code, 1);
  EXPECT_NE(v4.err.find("has no IPv6 address (-6)"), std::string::npos) << v4.err;
}

TEST_F(transport_nginx, local_address_is_the_source) {
  const std::string url = "http://" + at(local_) + "/";
  EXPECT_EQ(run_json({"-n", "30", "-c", "3", url})["status_codes"]["403"], 30);
  const auto j = run_json({"-n", "30", "-c", "3", "--local-address", "127.0.0.2", url});
  EXPECT_EQ(j["status_codes"]["200"], 30);
  EXPECT_EQ(j["connections_opened"], 3);
  // An address this machine does not have: one line before the run.
  const auto foreign = run_hit({"-n", "5", "--local-address", "192.0.2.1", url});
  EXPECT_EQ(foreign.exit_code, 1);
  EXPECT_NE(foreign.err.find("cannot connect from --local-address '192.0.2.1'"), std::string::npos)
      << foreign.err;
  EXPECT_EQ(std::count(foreign.err.begin(), foreign.err.end(), '\n'), 1) << foreign.err;
  // A family the target does not have.
  if (!ipv6_) return;
  const auto family = run_hit({"-n", "5", "--local-address", "::1", url});
  EXPECT_EQ(family.exit_code, 1);
  EXPECT_NE(family.err.find("no IPv6 address to reach from --local-address '::1'"),
            std::string::npos)
      << family.err;
}

TEST_F(transport_nginx, unix_sockets_plain_h2c_and_tls) {
  const auto plain =
      run_json({"-n", "200", "-c", "4", "--unix-socket", socket("plain"), "http://localhost/"});
  EXPECT_EQ(plain["status_codes"]["200"], 200) << plain.dump();
  EXPECT_EQ(plain["connections_opened"], 4);
  EXPECT_EQ(plain["unix_socket"], socket("plain"));
  const auto h2c = run_json({"-n", "200", "-c", "2", "--streams", "4", "--h2", "--unix-socket",
                             socket("h2c"), "http://localhost/"});
  EXPECT_EQ(h2c["status_codes"]["200"], 200) << h2c.dump();
  EXPECT_EQ(h2c["protocol"], "h2");
  // TLS over the socket: the URL's host is the name the certificate is checked against.
  const auto tls = run_json({"-n", "100", "-c", "2", "--cacert", pki_->path("root.pem"),
                             "--unix-socket", socket("tls"), "https://localhost/"});
  EXPECT_EQ(tls["status_codes"]["200"], 100) << tls.dump();
  // No socket there: one line, exit 1, before any request.
  const auto none = run_hit({"-n", "5", "--unix-socket", socket("missing"), "http://localhost/"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no such socket: is the server running?"), std::string::npos) << none.err;
  EXPECT_EQ(std::count(none.err.begin(), none.err.end(), '\n'), 1) << none.err;
  // A path longer than a socket address holds (107 bytes): one line from the engine, exit 1;
  // from hit serve, exit 2, as a bad address is.
  const std::string long_path = "/tmp/" + std::string(200, 's');
  const auto too_long = run_hit({"-n", "5", "--unix-socket", long_path, "http://localhost/"});
  EXPECT_EQ(too_long.exit_code, 1);
  EXPECT_NE(too_long.err.find("a socket path is 1 to 107 bytes"), std::string::npos)
      << too_long.err;
  for (const auto& [listen, says] :
       {std::pair{"unix:" + long_path, "bad socket path"},
        std::pair{std::string("unix:"), "wants a socket path after 'unix:'"}}) {
    const auto serve = run_hit({"serve", "--listen", listen}, std::chrono::seconds(10));
    EXPECT_EQ(serve.exit_code, 2) << listen;
    EXPECT_NE(serve.err.find(says), std::string::npos) << serve.err;
  }
}

}  // namespace

// hit serve --listen unix:PATH, and hit --unix-socket to it: HTTP/1.1, h2c and TLS; the socket
// file is removed when the server stops.
TEST(transport_serve, hit_serve_listens_on_a_unix_socket) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hit_serve_" + std::to_string(::getpid()) + ".sock");
  for (const bool tls : {false, true}) {
    std::vector<std::string> args = {HIT_EXE, "serve", "--listen", "unix:" + path.string()};
    if (tls) args.push_back("--tls");
    const auto c = hit::test::spawn(args);
    for (int i = 0; i < 100 && !std::filesystem::is_socket(path); ++i) usleep(20'000);
    ASSERT_TRUE(std::filesystem::is_socket(path));
    const std::string url = tls ? "https://localhost/" : "http://localhost/";
    const auto h1 = run_json({"-n", "300", "-c", "3", "-k", "--unix-socket", path.string(), url});
    EXPECT_EQ(h1["status_codes"]["200"], 300) << h1.dump();
    const auto h2 = run_json({"-n", "300", "-c", "2", "--h2", "--streams", "5", "-k",
                              "--unix-socket", path.string(), url});
    EXPECT_EQ(h2["status_codes"]["200"], 300) << h2.dump();
    EXPECT_EQ(h2["protocol"], "h2");
    kill(c.pid, SIGTERM);
    const auto r = hit::test::finish(c, std::chrono::seconds(10), [](auto) {});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("listening on unix:" + path.string() + (tls ? " (https)" : " (http)")),
              std::string::npos)
        << r.out;
    EXPECT_FALSE(std::filesystem::exists(path)) << "the socket file is left behind";
  }
}

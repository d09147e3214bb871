// hit over HTTP/2 against a stock nginx (http2, one worker) on loopback: h2 over TLS (ALPN) and
// h2c with prior knowledge, a server that caps concurrent streams, one that sends GOAWAY every
// 100 requests (keepalive_requests), and servers that do not speak HTTP/2 at all. Certificates
// are made at test time (test_pki.hpp).

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "../unit/http/test_pki.hpp"
#include "harness.hpp"
#include "run_json.hpp"

namespace fs = std::filesystem;
using hit::test::run_hit;
using hit::test::run_json;

namespace {

class http2_nginx : public ::testing::Test {
 protected:
  enum port_index { tls_h2, h2c, capped, goaway, tls_h1, plain_h1, ports };

  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    pki_ = std::make_unique<hit::test::test_pki>();
    dir_ = pki_->path("");
    for (auto& p : port_) p = hit::test::free_port();
    const std::string d = dir_.string() + "/";
    auto server = [&](port_index i, const std::string& listen, const std::string& extra) {
      return "  server { listen 127.0.0.1:" + std::to_string(port_[i]) + listen + ";\n    " +
             extra + "\n    location / { return 200 \"hello over h2\\n\"; } }\n";
    };
    nginx_ = std::make_unique<hit::test::nginx>(
        dir_,
        "  keepalive_requests 100000; client_max_body_size 10m;\n  ssl_certificate " + d +
            "server-chain.pem; ssl_certificate_key " + d + "server.key;\n" +
            server(tls_h2, " ssl http2", "") + server(h2c, " http2", "") +
            server(capped, " http2", "http2_max_concurrent_streams 4;") +
            server(goaway, " http2", "keepalive_requests 100;") + server(tls_h1, " ssl", "") +
            server(plain_h1, "", ""),
        std::vector<unsigned short>(port_.begin(), port_.end()));
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    pki_.reset();
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx with http2 did not start";
  }
  static std::string url(port_index i) {
    const bool tls = i == tls_h2 || i == tls_h1;
    return std::string(tls ? "https://localhost:" : "http://127.0.0.1:") +
           std::to_string(port_[i]) + "/";
  }
  static std::string ca() { return (dir_ / "root.pem").string(); }

  static inline std::unique_ptr<hit::test::test_pki> pki_;
  static inline fs::path dir_;
  static inline std::array<unsigned short, ports> port_{};
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(http2_nginx, h2_over_tls_by_alpn_counts_every_request) {
  const auto j =
      run_json({"--h2", "-n", "3000", "-c", "4", "--streams", "8", "--cacert", ca(), url(tls_h2)});
  EXPECT_EQ(j["requests"], 3000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 3000);
  EXPECT_EQ(j["protocol"], "h2");
  EXPECT_EQ(j["connections_opened"], 4);  // no limit on requests per connection here
  EXPECT_EQ(j["http2"]["connections"], 4);
  EXPECT_EQ(j["http2"]["stream_limit"], 8);
  EXPECT_GT(j["http2"]["peak_streams"], 1);  // streams were in flight together
  EXPECT_LE(j["http2"]["peak_streams"], 8);
  EXPECT_GT(j["http2"]["header_bytes"], 0);
  EXPECT_GT(j["http2"]["header_bytes_decoded"], j["http2"]["header_bytes"]);
}

TEST_F(http2_nginx, h2c_with_prior_knowledge_counts_every_request) {
  const auto j = run_json({"--h2", "-n", "3000", "-c", "3", "--streams", "10", url(h2c)});
  EXPECT_EQ(j["requests"], 3000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 3000);
  EXPECT_EQ(j["protocol"], "h2");
  EXPECT_EQ(j["connections_opened"], 3);
}

TEST_F(http2_nginx, the_servers_stream_limit_caps_streams_in_flight) {
  const auto j = run_json({"--h2", "-n", "2000", "-c", "2", "--streams", "16", url(capped)});
  EXPECT_EQ(j["requests"], 2000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["http2"]["stream_limit"], 4);
  EXPECT_LE(j["http2"]["peak_streams"], 4);
  EXPECT_EQ(j["retries"], 0);  // never above the limit, so never refused
}

TEST_F(http2_nginx, goaway_every_100_requests_loses_none_and_counts_retries) {
  const auto j = run_json({"--h2", "-n", "3000", "-c", "4", "--streams", "10", url(goaway)});
  EXPECT_EQ(j["requests"], 3000);
  EXPECT_EQ(j["errors"], 0) << j["errors_by_kind"];
  EXPECT_EQ(j["status_codes"]["200"], 3000);
  // Each connection serves 100 streams, then GOAWAY: about 30 connections.
  EXPECT_GE(j["http2"]["goaways"], 25);
  EXPECT_GE(j["connections_opened"], 30);
}

TEST_F(http2_nginx, the_open_model_keeps_its_rate_over_h2) {
  const auto j = run_json(
      {"--h2", "--rate", "400", "-z", "3s", "--max-workers", "4", "--streams", "4", url(h2c)});
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["protocol"], "h2");
  EXPECT_EQ(j["requests"].get<std::uint64_t>() + j["not_sent"].get<std::uint64_t>(), 1200);
  EXPECT_NEAR(j["achieved_rps"].get<double>(), 400.0, 4.0);
  EXPECT_LE(j["connections"]["peak"], 4);
}

TEST_F(http2_nginx, a_request_body_larger_than_the_servers_window_is_sent_whole) {
  // 200 KB: beyond HTTP/2's initial 64 KiB window, so the body waits for WINDOW_UPDATEs.
  const auto body = (dir_ / "body.bin").string();
  std::ofstream(body) << std::string(200'000, 'x');
  const auto j = run_json(
      {"--h2", "-n", "40", "-c", "2", "--streams", "4", "-m", "POST", "-D", body, url(h2c)});
  EXPECT_EQ(j["requests"], 40);
  EXPECT_EQ(j["errors"], 0) << j["errors_by_kind"];
  EXPECT_EQ(j["status_codes"]["200"], 40);
}

TEST_F(http2_nginx, a_tls_server_without_h2_fails_with_one_line_unless_http_auto) {
  const auto r = run_hit({"--h2", "-n", "5", "-c", "1", "--cacert", ca(), url(tls_h1)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("did not agree to HTTP/2"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--http auto"), std::string::npos) << r.err;

  const auto h1 =
      run_json({"--http", "auto", "-n", "50", "-c", "2", "--cacert", ca(), url(tls_h1)});
  EXPECT_EQ(h1["errors"], 0);
  EXPECT_EQ(h1["protocol"], "http/1.1");
  const auto h2 =
      run_json({"--http", "auto", "-n", "50", "-c", "2", "--cacert", ca(), url(tls_h2)});
  EXPECT_EQ(h2["errors"], 0);
  EXPECT_EQ(h2["protocol"], "h2");
}

TEST_F(http2_nginx, http_auto_in_the_open_model_keeps_its_rate_whichever_protocol_is_picked) {
  for (const auto at : {tls_h1, tls_h2}) {
    const auto j = run_json({"--http", "auto", "--streams", "4", "--rate", "300", "-z", "2s",
                             "--max-workers", "8", "--cacert", ca(), url(at)});
    EXPECT_EQ(j["errors"], 0);
    EXPECT_EQ(j["protocol"], at == tls_h2 ? "h2" : "http/1.1");
    EXPECT_EQ(j["requests"].get<std::uint64_t>() + j["not_sent"].get<std::uint64_t>(), 600);
    EXPECT_NEAR(j["achieved_rps"].get<double>(), 300.0, 3.0);
  }
}

TEST_F(http2_nginx, h2c_to_an_http1_server_fails_with_one_line) {
  const auto r = run_hit({"--h2", "-n", "5", "-c", "1", url(plain_h1)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("h2c with prior knowledge"), std::string::npos) << r.err;
}

// hit --h2 against hit serve: h2c and h2 by ALPN, and the server's knobs that make streams
// fail, per stream.
TEST(http2_serve, h2c_and_h2_count_every_request) {
  hit::test::server plain;
  const auto a = run_json({"--h2", "-n", "3000", "-c", "3", "--streams", "10", plain.url()});
  EXPECT_EQ(a["requests"], 3000);
  EXPECT_EQ(a["errors"], 0);
  EXPECT_EQ(a["status_codes"]["200"], 3000);
  EXPECT_EQ(a["protocol"], "h2");
  EXPECT_EQ(a["connections_opened"], 3);

  hit::test::server tls({"--tls"});
  const auto b = run_json({"--h2", "-k", "-n", "3000", "-c", "3", "--streams", "10", tls.url()});
  EXPECT_EQ(b["requests"], 3000);
  EXPECT_EQ(b["errors"], 0);
  EXPECT_EQ(b["protocol"], "h2");
}

TEST(http2_serve, the_advertised_stream_limit_holds) {
  hit::test::server s({"--max-streams", "4"});
  const auto j = run_json({"--h2", "-n", "2000", "-c", "2", "--streams", "16", s.url()});
  EXPECT_EQ(j["requests"], 2000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["http2"]["stream_limit"], 4);
  EXPECT_LE(j["http2"]["peak_streams"], 4);
  EXPECT_EQ(j["retries"], 0);
}

TEST(http2_serve, goaway_after_100_streams_loses_no_request) {
  hit::test::server s({"--goaway-after", "100"});
  const auto j = run_json({"--h2", "-n", "5000", "-c", "4", "--streams", "10", s.url()});
  EXPECT_EQ(j["requests"], 5000);
  EXPECT_EQ(j["errors"], 0) << j["errors_by_kind"];
  EXPECT_EQ(j["status_codes"]["200"], 5000);
  EXPECT_GE(j["http2"]["goaways"], 45);
  EXPECT_GT(j["retries"], 0);  // streams above each GOAWAY's last id, resent
}

TEST(http2_serve, reset_streams_are_errors_and_refused_ones_are_resent_once) {
  hit::test::server s;
  const auto reset = run_json({"--h2", "-n", "50", "-c", "2", "--streams", "4", s.url("?reset=1")});
  EXPECT_EQ(reset["requests"], 50);
  EXPECT_EQ(reset["errors"], 50);
  EXPECT_EQ(reset["errors_by_kind"]["stream_reset"], 50);
  EXPECT_EQ(reset["retries"], 0);
  // Refused every time: each request is resent once (on a newer connection), then an error.
  const auto refused =
      run_json({"--h2", "-n", "50", "-c", "2", "--streams", "4", s.url("?refuse=1")});
  EXPECT_EQ(refused["requests"], 50);
  EXPECT_EQ(refused["errors_by_kind"]["stream_reset"], 50);
  EXPECT_EQ(refused["retries"], 50);
}

TEST(http2_serve, status_size_and_chunked_bodies_per_stream) {
  hit::test::server s;
  const auto a = run_json({"--h2", "-n", "100", "-c", "2", "--streams", "5",
                           s.url("?status=503&size=10000&chunked=1")});
  EXPECT_EQ(a["requests"], 100);
  EXPECT_EQ(a["errors"], 0);
  EXPECT_EQ(a["status_codes"]["503"], 100);
  EXPECT_GE(a["bytes"], 100 * 10000);
}

TEST(http2_serve, a_stream_past_the_timeout_is_a_timeout_and_the_run_ends) {
  hit::test::server s;
  const auto j =
      run_json({"--h2", "-n", "4", "-c", "1", "--streams", "4", "-t", "300ms", s.url("?delay=5s")});
  EXPECT_EQ(j["requests"], 4);
  EXPECT_EQ(j["errors_by_kind"]["timeout"], 4);
  EXPECT_LT(j["duration_s"], 3.0);
}

TEST(http2_serve, paced_requests_through_goaways_are_all_accounted_for) {
  // --rps over HTTP/2 with a GOAWAY every 20 streams: pacing waits meet closing connections.
  hit::test::server s({"--goaway-after", "20"});
  const auto j = run_json({"--h2", "-n", "3000", "-c", "4", "--streams", "10", "--threads", "1",
                           "--rps", "20000", s.url()});
  EXPECT_EQ(j["requests"], 3000);
  EXPECT_EQ(j["errors_by_kind"]["other"], 0);
  EXPECT_EQ(j["errors_by_kind"]["closed"], 0);
  EXPECT_GE(j["http2"]["goaways"], 100);
}

// An h2c "server" that grants large windows, then never reads: the client's upload stalls in a
// write that never completes. -t must still end the run.
TEST(http2_faults, a_server_that_stops_reading_cannot_hold_the_run) {
  const int ls = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(ls, 0);
  int small = 4096;
  setsockopt(ls, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(ls, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(ls, 8), 0);
  socklen_t len = sizeof a;
  getsockname(ls, reinterpret_cast<sockaddr*>(&a), &len);
  const auto port = ntohs(a.sin_port);
  std::thread server([ls] {
    // SETTINGS (INITIAL_WINDOW_SIZE 16 MiB, MAX_CONCURRENT_STREAMS 100), WINDOW_UPDATE +1 GiB.
    const unsigned char preface[] = {0, 0, 12, 4,   0, 0, 0, 0, 0, 0, 4, 1, 0, 0,    0,    0, 3,
                                     0, 0, 0,  100, 0, 0, 4, 8, 0, 0, 0, 0, 0, 0x3f, 0xff, 0, 0};
    std::vector<int> held;
    for (int i = 0; i < 4; ++i) {
      pollfd p{ls, POLLIN, 0};
      if (poll(&p, 1, 15000) <= 0) break;
      const int c = accept(ls, nullptr, nullptr);
      if (c < 0) break;
      (void)!write(c, preface, sizeof preface);
      held.push_back(c);  // never read
    }
    for (int c : held) close(c);
  });
  const auto body =
      (fs::temp_directory_path() / ("hit-h2-stall-" + std::to_string(getpid()))).string();
  std::ofstream(body) << std::string(8 << 20, 'x');
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = run_hit({"--h2", "-n", "1", "-c", "1", "-t", "1s", "-m", "POST", "-D", body,
                          "http://127.0.0.1:" + std::to_string(port) + "/", "-o", "json"},
                         std::chrono::seconds(30));
  const auto took = std::chrono::steady_clock::now() - t0;
  shutdown(ls, SHUT_RDWR);
  close(ls);
  server.join();
  fs::remove(body);
  EXPECT_LT(took, std::chrono::seconds(10));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["requests"], 1);
  EXPECT_EQ(j["errors_by_kind"]["timeout"], 1);
}

TEST(http2_options, http2_options_are_checked) {
  using hit::test::expect_usage_error;
  expect_usage_error({"--streams", "4", "http://127.0.0.1:1/"}, "--streams is an HTTP/2 option");
  expect_usage_error({"--http", "3", "http://127.0.0.1:1/"}, "--http wants 1.1, 2 or auto");
  expect_usage_error({"--h2", "--window-bits", "31", "http://127.0.0.1:1/"}, "--window-bits");
  expect_usage_error({"--h2", "--streams", "0", "http://127.0.0.1:1/"}, "--streams");
  expect_usage_error({"--h2", "--http", "1.1", "http://127.0.0.1:1/"}, "disagree");
  expect_usage_error({"--h2", "--no-keepalive", "http://127.0.0.1:1/"}, "--no-keepalive");
}

}  // namespace

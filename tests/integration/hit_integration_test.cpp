// The real binary against the embedded server: counts, statuses, errors by kind, pacing,
// stopping. Timing assertions keep wide margins: this runs on a noisy 2-core machine.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "run_json.hpp"

using namespace std::chrono_literals;
using hit::test::run_hit;
using hit::test::run_json;
using hit::test::server;
using json = nlohmann::json;

TEST(hit, sends_exactly_n_requests) {
  server s;
  const auto j = run_json({"-n", "1000", "-c", "10", s.url()});
  EXPECT_EQ(j["requests"], 1000);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["200"], 1000);
  EXPECT_EQ(j["success_ratio"], 1.0);
  EXPECT_EQ(j["connections_opened"], 10);
  EXPECT_EQ(j["bytes"].get<std::uint64_t>() % 1000, 0u) << "every response has the same size";
  const auto& l = j["latency_s"];
  EXPECT_GT(l["fastest"].get<double>(), 0);
  EXPECT_LE(l["fastest"].get<double>(), l["p50"].get<double>());
  EXPECT_LE(l["p50"].get<double>(), l["p99"].get<double>());
  EXPECT_LE(l["p99"].get<double>(), l["slowest"].get<double>());
}

TEST(hit, more_threads_and_connections_than_requests_still_sends_exactly_n) {
  server s;
  const auto j = run_json({"-n", "7", "-c", "50", "--threads", "4", s.url()});
  EXPECT_EQ(j["requests"], 7);
  EXPECT_EQ(j["status_codes"]["200"], 7);
  EXPECT_LE(j["connections_opened"].get<int>(), 7) << "idle connections are never opened";
}

TEST(hit, http_error_statuses_are_results_not_failures) {
  server s;
  const auto j = run_json({"-n", "300", "-c", "5", s.url("?status=503")});
  EXPECT_EQ(j["requests"], 300);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["status_codes"]["503"], 300);
  EXPECT_EQ(j["success_ratio"], 0.0);
}

TEST(hit, bodies_chunked_sized_and_head) {
  server s;
  auto j = run_json({"-n", "50", "-c", "2", s.url("?size=100000&chunked=1")});
  EXPECT_EQ(j["status_codes"]["200"], 50);
  EXPECT_GT(j["bytes"].get<std::uint64_t>(), 50u * 100000u);
  j = run_json({"-n", "50", "-c", "2", "-m", "HEAD", s.url("?size=5000")});
  EXPECT_EQ(j["status_codes"]["200"], 50);
  EXPECT_LT(j["bytes"].get<std::uint64_t>(), 50u * 1000u) << "HEAD responses carry no body";
  j = run_json({"-n", "40", "-c", "2", s.url("?status=204")});
  EXPECT_EQ(j["status_codes"]["204"], 40);
}

TEST(hit, posts_a_body) {
  server s;
  const auto j = run_json({"-n", "20", "-c", "2", "-m", "POST", "-d", "{\"a\":1}", "-H",
                           "Content-Type: application/json", s.url()});
  EXPECT_EQ(j["status_codes"]["200"], 20);
}

TEST(hit, connection_close_and_no_keepalive_reconnect) {
  server s;
  auto j = run_json({"-n", "100", "-c", "4", s.url("?close=1")});
  EXPECT_EQ(j["status_codes"]["200"], 100);
  EXPECT_EQ(j["connections_opened"], 100);
  j = run_json({"-n", "60", "-c", "3", "--no-keepalive", s.url()});
  EXPECT_EQ(j["status_codes"]["200"], 60);
  EXPECT_EQ(j["connections_opened"], 60);
}

TEST(hit, resets_are_counted_by_kind_and_the_connection_replaced) {
  server s;
  const auto j = run_json({"-n", "50", "-c", "5", s.url("?reset=1")});
  EXPECT_EQ(j["requests"], 50);
  EXPECT_EQ(j["errors"], 50);
  EXPECT_EQ(j["errors_by_kind"]["reset"], 50);
  EXPECT_EQ(j["connections_opened"], 50);
}

TEST(hit, timeouts_are_counted_by_kind) {
  server s;
  const auto r = run_hit({"-n", "6", "-c", "3", "-t", "200ms", "-o", "json", s.url("?delay=3s")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["requests"], 6);
  EXPECT_EQ(j["errors_by_kind"]["timeout"], 6);
  EXPECT_LT(r.seconds, 2.5) << "two rounds of 200 ms timeouts, not the server's 3 s";
}

TEST(hit, refused_everywhere_exits_1_with_the_reason) {
  const hit::test::refusing_port nothing;
  const auto r = run_hit({"-n", "20", "-c", "2", "-o", "json", nothing.url()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("refused"), std::string::npos) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["errors_by_kind"]["refused"], 20);
}

TEST(hit, rps_is_a_global_limit) {
  server s;
  // 200 requests at 100/s over 4 connections and 2 threads: the last is due at 1.99 s.
  const auto j = run_json({"-n", "200", "-c", "4", "--threads", "2", "--rps", "100", s.url()});
  EXPECT_EQ(j["requests"], 200);
  const double d = j["duration_s"].get<double>();
  EXPECT_GT(d, 1.99 * 0.9);
  EXPECT_LT(d, 1.99 * 1.1);
  EXPECT_TRUE(j.contains("service_time_s"));
}

TEST(hit, duration_stops_the_run) {
  server s;
  const auto r = run_hit({"-z", "1s", "-c", "4", "-o", "json", s.url("?delay=10ms")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_GT(j["requests"].get<int>(), 20);
  EXPECT_GT(j["duration_s"].get<double>(), 0.9);
  EXPECT_LT(r.seconds, 5.0);
}

TEST(hit, ctrl_c_prints_a_partial_report) {
  server s;
  const auto r =
      hit::test::run_hit_and_signal({"-z", "60s", "-c", "4", s.url("?delay=5ms")}, SIGINT, 1000ms);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_NE(r.out.find("interrupted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[200]"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("interrupted"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 10.0);
}

TEST(hit, text_report_has_every_section) {
  server s;
  const auto r = run_hit({"-n", "200", "-c", "4", s.url()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part : {"Requests:", "Success ratio:", "Requests/sec:", "Latency:", "p99.9",
                           "Latency histogram", "Status codes:", "[200] 200 responses",
                           "Timing breakdown", "DNS lookup", "Connect", "TTFB"})
    EXPECT_NE(r.out.find(part), std::string::npos) << part << "\n" << r.out;
  EXPECT_EQ(r.out.find("TLS handshake"), std::string::npos) << "no TLS over http\n" << r.out;
  EXPECT_TRUE(r.err.empty()) << "no progress line when stderr is not a terminal: " << r.err;
}

// The timing breakdown in JSON: one connect per connection, one TTFB per response, each no
// longer than the request it belongs to.
TEST(hit, json_timing_breakdown_counts_what_it_measures) {
  server s;
  const auto j = run_json({"-n", "300", "-c", "3", s.url("?delay=20ms")});
  EXPECT_EQ(j["connections"]["opened"], 3);
  EXPECT_GT(j["connect_s"]["p50"].get<double>(), 0.0);
  // The server waits 20 ms before its first byte: every TTFB includes it.
  EXPECT_GE(j["ttfb_s"]["fastest"].get<double>(), 0.019) << j["ttfb_s"].dump();
  EXPECT_LE(j["ttfb_s"]["slowest"].get<double>(), j["latency_s"]["slowest"].get<double>());
  EXPECT_GT(j["dns_s"].get<double>(), 0.0);
  EXPECT_EQ(j["tls"]["full_handshakes"], 0);
}

TEST(hit, a_stale_keepalive_connection_is_retried_once_not_counted_as_an_error) {
  server s;
  // The server closes each connection right after its response, without saying so: the next
  // request on it meets a closed socket, and is resent once on a new connection.
  const auto j = run_json({"-n", "200", "-c", "2", s.url("?drop=1")});
  EXPECT_EQ(j["requests"], 200);
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["200"], 200);
  EXPECT_GT(j["retries"].get<int>(), 150);
}

TEST(hit, progress_line_on_a_terminal) {
  // script(1) gives hit a pseudo-terminal, so stderr is a terminal and the live line appears.
  if (access("/usr/bin/script", X_OK) != 0) GTEST_SKIP() << "no script(1)";
  server s;
  const std::string cmd = std::string(HIT_EXE) + " -n 600 --rps 1000 -c 4 " + s.url();
  const auto r = hit::test::finish(hit::test::spawn({"/usr/bin/script", "-qfec", cmd, "/dev/null"}),
                                   std::chrono::seconds(20), [](auto) {});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" done "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("req/s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ETA"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[200] 600 responses"), std::string::npos) << r.out;
}

// The open model against `hit serve`: latency measured from the schedule (no coordinated
// omission), elastic connections (Little's law, idle retirement), rate shapes. Margins are wide:
// this runs on a noisy 2-core machine, beside other tests.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_hit;
using hit::test::run_json;
using hit::test::server;
using json = nlohmann::json;

namespace {

// The server answers nothing between 1 s and 2 s after the first request, then everything at
// once. At R requests/s for 4 s, the R requests due in that second wait until 2 s: the one due
// at t waits 2 - t, so their latencies spread evenly over (0, 1 s]; the other 3R take the
// server's usual time. Percentile q of all 4R values is therefore
//   q <= 3/4:  about 0
//   q >  3/4:  (q - 3/4) * 4 seconds
double expected_percentile(double q) {
  return q <= 0.75 ? 0.0 : (q - 0.75) * 4.0;
}

void expect_latency_follows_the_schedule(const json& latency) {
  for (const auto& [key, q] : {std::pair{"p90", 0.90}, {"p95", 0.95}, {"p99", 0.99}}) {
    const double want = expected_percentile(q);
    EXPECT_NEAR(latency[key].get<double>(), want, 0.06 + 0.05 * want) << key;
  }
  EXPECT_LT(latency["p50"].get<double>(), 0.05);
  EXPECT_NEAR(latency["slowest"].get<double>(), 1.0, 0.1);
}

}  // namespace

TEST(open_model, a_stall_shows_in_every_request_it_delayed) {
  server s({"--pause-at", "1s", "--pause-for", "1s"});
  const auto j = run_json({"--rate", "500", "-z", "4s", s.url()});
  EXPECT_EQ(j["requests"], 2000);
  EXPECT_EQ(j["errors"], 0);
  expect_latency_follows_the_schedule(j["latency_s"]);
  // Enough connections: every stalled request had its own, so service time shows the stall too.
  EXPECT_GT(j["service_time_s"]["p99"].get<double>(), 0.5);
  EXPECT_GE(j["connections"]["peak"].get<int>(), 400) << "one connection per stalled request";
  EXPECT_EQ(j["late"], 0);
}

TEST(open_model, capped_connections_make_requests_wait_and_latency_shows_it) {
  server s({"--pause-at", "1s", "--pause-for", "1s"});
  const auto j =
      run_json({"--rate", "500", "-z", "4s", "--workers", "2", "--max-workers", "8", s.url()});
  EXPECT_EQ(j["requests"], 2000);
  // Latency still follows the schedule: the wait for a connection is in it...
  expect_latency_follows_the_schedule(j["latency_s"]);
  // ...but service time is not: only the 8 requests on the wire during the stall saw it.
  EXPECT_LT(j["service_time_s"]["p99"].get<double>(), 0.1);
  EXPECT_GT(j["service_time_s"]["slowest"].get<double>(), 0.5);
  EXPECT_LE(j["connections"]["peak"].get<int>(), 8);
  EXPECT_GT(j["late"].get<int>(), 300) << "requests that found every connection busy";
}

TEST(open_model, peak_connections_follow_littles_law_and_shrink_when_idle) {
  server s;
  // 400 requests/s with a 50 ms server: about 400 x 0.05 = 20 in flight. Then 10/s for 2 s,
  // which needs one connection: the others idle past 300 ms and retire.
  const auto j = run_json({"--stages", "50ms:400,1950ms:400,50ms:10,1950ms:10", "--threads", "1",
                           "--workers", "1", "--idle-timeout", "300ms", s.url("?delay=50ms")});
  EXPECT_EQ(j["errors"], 0);
  const int peak = j["connections"]["peak"].get<int>();
  EXPECT_GE(peak, 16);
  EXPECT_LE(peak, 40);
  EXPECT_GE(j["connections"]["retired_idle"].get<int>(), peak / 2);
}

TEST(open_model, ramp_sends_the_scheduled_count) {
  server s;
  // 100 -> 300 requests/s over 2 s: (100 + 300) / 2 * 2 = 400 requests.
  const auto j = run_json({"--rate", "100:300", "-z", "2s", s.url()});
  EXPECT_EQ(j["requests"], 400);
  EXPECT_NEAR(j["duration_s"].get<double>(), 2.0, 0.3);
}

TEST(open_model, stages_send_the_scheduled_count_per_phase) {
  server s;
  // 0 -> 200/s over 1 s (100), hold 200/s for 1 s (200), 200 -> 0 over 1 s (100).
  auto j = run_json({"--stages", "1s:200,1s:200,1s:0", s.url()});
  EXPECT_EQ(j["requests"], 400);
  // Cut after the first phase, and after the second: the first 100, then 300.
  j = run_json({"--stages", "1s:200,1s:200,1s:0", "-z", "1s", s.url()});
  EXPECT_EQ(j["requests"], 100);
  j = run_json({"--stages", "1s:200,1s:200,1s:0", "-z", "2s", s.url()});
  EXPECT_EQ(j["requests"], 300);
}

TEST(open_model, n_stops_a_rate_at_n_requests) {
  server s;
  const auto j = run_json({"--rate", "1000", "-n", "700", s.url()});
  EXPECT_EQ(j["requests"], 700);
  EXPECT_NEAR(j["duration_s"].get<double>(), 0.7, 0.2);
}

TEST(open_model, achieved_rate_is_within_one_percent_of_the_target) {
  server s;
  const auto j = run_json({"--rate", "2000", "-z", "5s", s.url()});
  EXPECT_EQ(j["requests"], 10000);
  EXPECT_NEAR(j["achieved_rps"].get<double>(), 2000.0, 20.0);
  EXPECT_NEAR(j["target_rps"].get<double>(), 2000.0, 1.0);
  EXPECT_LT(j["send_lag_s"]["p50"].get<double>(), 0.005);
}

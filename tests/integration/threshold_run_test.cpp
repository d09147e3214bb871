// --threshold and --abort-on-threshold: the real binary against the embedded server. Timing
// assertions keep wide margins: this runs on a noisy 2-core machine.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "run_json.hpp"

using namespace std::chrono_literals;
using hit::test::run_hit;
using hit::test::run_json;
using hit::test::server;
using json = nlohmann::json;

TEST(thresholds, passing_ones_exit_0_and_show_pass) {
  server s;
  const auto r = run_hit({"-n", "200", "-c", "5", "--threshold", "errors==0", "--threshold",
                          "p99 < 10s", "--threshold", "success>=100%", s.url()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\nThresholds:\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  PASS  errors==0      errors = 0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  PASS  p99 < 10s      p99 = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  PASS  success>=100%  success = 100% (200 of 200)\n"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("FAIL"), std::string::npos) << r.out;
}

TEST(thresholds, a_failing_one_exits_3_with_fail_in_the_text) {
  server s;
  const auto r = run_hit(
      {"-n", "100", "-c", "2", "--threshold", "p50<1ns", "--threshold", "errors==0", s.url()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.out.find("  FAIL  p50<1ns    p50 = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  PASS  errors==0  errors = 0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Summary:\n"), std::string::npos) << "the run was not stopped: " << r.out;
  EXPECT_NE(r.out.find("Requests:      100\n"), std::string::npos) << r.out;
}

TEST(thresholds, a_failing_one_exits_3_with_pass_false_in_the_json) {
  server s;
  const auto j = run_json(
      {"-n", "100", "-c", "2", "--threshold", "rps>=1e9", "--threshold", "errors<1%", s.url()}, 3);
  ASSERT_TRUE(j.contains("thresholds")) << j.dump();
  const auto& t = j["thresholds"];
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0]["expression"], "rps>=1e9");
  EXPECT_EQ(t[0]["metric"], "rps");
  EXPECT_EQ(t[0]["op"], ">=");
  EXPECT_EQ(t[0]["unit"], "rps");
  EXPECT_EQ(t[0]["limit"], 1e9);
  EXPECT_GT(t[0]["value"].get<double>(), 0);
  EXPECT_EQ(t[0]["pass"], false);
  EXPECT_EQ(t[1]["pass"], true);
  EXPECT_EQ(t[1]["unit"], "ratio");
  EXPECT_EQ(t[1]["value"], 0.0);
  EXPECT_EQ(j["stopped_by_threshold"], false);
  EXPECT_EQ(j["requests"], 100);
}

TEST(thresholds, none_given_keeps_the_report_as_it_was) {
  server s;
  const auto j = run_json({"-n", "20", "-c", "2", s.url()});
  EXPECT_FALSE(j.contains("thresholds"));
  EXPECT_FALSE(j.contains("stopped_by_threshold"));
  const auto r = run_hit({"-n", "20", "-c", "2", s.url()});
  EXPECT_EQ(r.out.find("Thresholds:"), std::string::npos) << r.out;
}

TEST(thresholds, a_lost_one_does_not_stop_the_run_without_abort) {
  server s;
  const auto j =
      run_json({"-n", "300", "-c", "3", "--threshold", "status_5xx==0", s.url("?status=500")}, 3);
  EXPECT_EQ(j["requests"], 300);
  EXPECT_EQ(j["thresholds"][0]["value"], 300);
  EXPECT_EQ(j["thresholds"][0]["stopped_run"], false);
}

TEST(thresholds, abort_stops_a_counted_run_early) {
  server s;
  // 100000 requests at 2000/s would take 50 s; the first 500 loses status_5xx==0 at once.
  const auto r =
      run_hit({"-n", "100000", "-c", "4", "--rps", "2000", "--abort-on-threshold", "--threshold",
               "p99<10s", "--threshold", "status_5xx==0", "-o", "json", s.url("?status=500")},
              20s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_LT(r.seconds, 15) << "stopped within the poll, not at the end";
  EXPECT_NE(r.err.find("hit: threshold 'status_5xx==0' failed: stopping"), std::string::npos)
      << r.err;
  const auto j = json::parse(r.out);
  EXPECT_LT(j["requests"].get<std::uint64_t>(), 20000u);
  EXPECT_GT(j["requests"].get<std::uint64_t>(), 0u);
  EXPECT_EQ(j["stopped_by_threshold"], true);
  EXPECT_EQ(j["interrupted"], false);
  EXPECT_EQ(j["thresholds"][0]["stopped_run"], false);
  EXPECT_EQ(j["thresholds"][1]["stopped_run"], true);
  EXPECT_EQ(j["thresholds"][1]["pass"], false);
}

TEST(thresholds, abort_is_marked_in_the_text_report) {
  server s;
  const auto r =
      run_hit({"-n", "100000", "-c", "2", "--rps", "2000", "--abort-on-threshold", "--threshold",
               "errors==0", "--threshold", "status_5xx<=1", s.url("?status=503")},
              20s);
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_LT(r.seconds, 15);
  EXPECT_EQ(r.out.rfind("Summary (stopped: a threshold failed; partial results):\n", 0), 0u)
      << r.out;
  EXPECT_NE(r.out.find("  PASS  errors==0      errors = 0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  FAIL  status_5xx<=1  status_5xx = "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(lost during the run: stopped it)\n"), std::string::npos) << r.out;
}

TEST(thresholds, abort_judges_a_timed_run_after_100_requests) {
  server s;
  const auto j = run_json({"-z", "30s", "-c", "2", "--rps", "2000", "--abort-on-threshold",
                           "--threshold", "success>=99%", s.url("?status=500")},
                          3, 25s);
  EXPECT_EQ(j["stopped_by_threshold"], true);
  EXPECT_LT(j["duration_s"].get<double>(), 15);
  EXPECT_GE(j["requests"].get<std::uint64_t>(), 100u) << "not judged on fewer";
  EXPECT_EQ(j["thresholds"][0]["stopped_run"], true);
}

TEST(thresholds, abort_leaves_a_passing_run_alone) {
  server s;
  const auto j = run_json({"-n", "300", "-c", "3", "--abort-on-threshold", "--threshold",
                           "errors==0", "--threshold", "success>=99%", s.url()});
  EXPECT_EQ(j["requests"], 300);
  EXPECT_EQ(j["stopped_by_threshold"], false);
  EXPECT_EQ(j["thresholds"][0]["pass"], true);
  EXPECT_EQ(j["thresholds"][1]["pass"], true);
}

// Exit codes 1 and 130 say more about a run than a threshold on what it did.
TEST(thresholds, interrupted_and_failed_runs_keep_their_exit_codes) {
  server s;
  const auto interrupted = hit::test::run_hit_and_signal(
      {"-z", "30s", "-c", "2", "--threshold", "p50<1ns", s.url()}, SIGINT, 500ms);
  EXPECT_EQ(interrupted.exit_code, 130) << interrupted.err;
  EXPECT_NE(interrupted.out.find("FAIL  p50<1ns"), std::string::npos) << interrupted.out;
  const hit::test::refusing_port nothing;
  const auto refused = run_hit(
      {"-n", "20", "-c", "2", "--abort-on-threshold", "--threshold", "errors==0", nothing.url()});
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_NE(refused.err.find("was refused"), std::string::npos) << refused.err;
}

#include "report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

using namespace std::chrono_literals;

namespace {
hit::cli::run_options options() {
  hit::cli::run_options o;
  o.url_text = "http://h/";
  return o;
}
}  // namespace

TEST(report, json_has_the_documented_fields) {
  hit::stats::summary s;
  for (int i = 1; i <= 100; ++i)
    s.record_response(200, 10, std::chrono::milliseconds(i), std::chrono::milliseconds(i));
  s.record_response(404, 5, 1ms, 1ms);
  s.record_error(hit::stats::error_kind::timeout);
  s.elapsed = 2s;
  const auto o = options();
  const auto j = hit::cli::json_report(s, {o, false});
  EXPECT_EQ(j["requests"], 102);
  EXPECT_EQ(j["errors"], 1);
  EXPECT_NEAR(j["success_ratio"].get<double>(), 100.0 / 102, 1e-12);
  EXPECT_DOUBLE_EQ(j["rps"].get<double>(), 51.0);
  EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 2.0);
  EXPECT_EQ(j["bytes"], 1005);
  EXPECT_EQ(j["status_codes"]["200"], 100);
  EXPECT_EQ(j["status_codes"]["404"], 1);
  EXPECT_EQ(j["errors_by_kind"]["timeout"], 1);
  EXPECT_EQ(j["errors_by_kind"]["reset"], 0);
  for (const char* k :
       {"fastest", "slowest", "mean", "p50", "p75", "p90", "p95", "p99", "p999", "p9999"})
    EXPECT_TRUE(j["latency_s"].contains(k)) << k;
  EXPECT_NEAR(j["latency_s"]["p50"].get<double>(), 0.050, 0.050 * 0.01);
  EXPECT_NEAR(j["latency_s"]["slowest"].get<double>(), 0.100, 1e-9);
  EXPECT_FALSE(j.contains("service_time_s")) << "only with a rate";
  std::uint64_t in_histogram = 0;
  for (const auto& b : j["latency_histogram"]) in_histogram += b["count"].get<std::uint64_t>();
  EXPECT_EQ(in_histogram, 101u) << "every response is in one bin";
}

TEST(report, histogram_bins_cover_every_value) {
  hit::stats::histogram h;
  for (int i = 0; i < 1000; ++i) h.record(std::chrono::microseconds(100 + i * 37));
  const auto text = hit::cli::latency_histogram(h, 10, 20);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 10);
  EXPECT_NE(text.find("####################"), std::string::npos) << "the fullest bin is full";
}

TEST(report, says_when_a_threshold_stopped_the_run) {
  hit::stats::summary s;
  s.record_response(500, 10, 1ms, 1ms);
  auto o = options();
  EXPECT_EQ(hit::cli::text_report(s, {o, false, true})
                .rfind("Summary (stopped: a threshold failed; partial results):\n", 0),
            0u);
  EXPECT_EQ(hit::cli::text_report(s, {o, false, false}).rfind("Summary:\n", 0), 0u);
  // The JSON key comes with thresholds only: a report without them keeps its schema.
  EXPECT_FALSE(hit::cli::json_report(s, {o, false, true}).contains("stopped_by_threshold"));
  o.thresholds.push_back(*hit::cli::parse_threshold("status_5xx==0"));
  EXPECT_EQ(hit::cli::json_report(s, {o, false, true})["stopped_by_threshold"], true);
  EXPECT_EQ(hit::cli::json_report(s, {o, false, false})["stopped_by_threshold"], false);
}

TEST(report, text_says_when_interrupted) {
  hit::stats::summary s;
  s.record_response(200, 1, 1ms, 1ms);
  const auto o = options();
  EXPECT_NE(hit::cli::text_report(s, {o, true}).find("interrupted"), std::string::npos);
  EXPECT_EQ(hit::cli::text_report(s, {o, false}).find("interrupted"), std::string::npos);
}

namespace {
// An https run: every connection connected and shook hands; first bytes took 1 ms for half the
// responses, 2, 3, 5 and 9 ms for the others, so p50, p75, p90, p99 and max differ.
hit::stats::summary https_run() {
  hit::stats::summary s;
  for (int i = 0; i < 100; ++i) {
    s.record_response(200, 10, 10ms, 10ms);
    s.ttfb.record(i < 50 ? 1ms : i < 80 ? 2ms : i < 90 ? 3ms : i < 99 ? 5ms : 9ms);
  }
  for (int i = 0; i < 4; ++i) {
    s.connect_time.record(250us);
    s.tls_handshake.record(2ms);
  }
  s.connections_opened = 4;
  s.tls_full = 3;
  s.tls_resumed = 1;
  s.dns = 1500us;
  s.elapsed = 1s;
  return s;
}

// The report's line that starts with `prefix`, or "" when there is none.
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with(prefix)) return line;
  return "";
}
}  // namespace

TEST(report, text_breaks_the_time_down_into_dns_connect_tls_and_ttfb) {
  const auto o = options();
  const auto text = hit::cli::text_report(https_run(), {o, false});
  ASSERT_NE(text.find("\nTiming breakdown:\n"), std::string::npos) << text;
  EXPECT_LT(text.find("Latency:"), text.find("Timing breakdown:")) << "after the latency section";
  EXPECT_EQ(line_starting(text, "  DNS lookup"),
            "  DNS lookup        1.50ms (once, before the run)");
  EXPECT_EQ(line_starting(text, "                 "),
            "                       p50       p90       p99       max     count");
  EXPECT_EQ(line_starting(text, "  Connect "),
            "  Connect            250us     250us     250us     250us         4");
  EXPECT_EQ(line_starting(text, "  TLS handshake "),
            "  TLS handshake     2.00ms    2.00ms    2.00ms    2.00ms         4");
  // 3.01ms: a percentile is its bucket's midpoint (min and max are exact).
  EXPECT_EQ(line_starting(text, "  TTFB"),
            "  TTFB              1.00ms    3.01ms    5.00ms    9.00ms       100");
  EXPECT_EQ(line_starting(text, "  TLS handshakes:"), "  TLS handshakes: 3 full, 1 resumed");
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) EXPECT_LE(line.size(), 80u) << line;
}

TEST(report, text_leaves_out_timings_that_have_no_samples) {
  const auto o = options();
  auto plain = https_run();  // as plain http would be: no handshakes
  plain.tls_handshake = {};
  plain.tls_full = plain.tls_resumed = 0;
  plain.dns = 0ns;
  auto text = hit::cli::text_report(plain, {o, false});
  EXPECT_NE(line_starting(text, "  Connect "), "") << text;
  EXPECT_NE(line_starting(text, "  TTFB"), "") << text;
  EXPECT_EQ(text.find("DNS"), std::string::npos) << text;
  EXPECT_EQ(text.find("TLS"), std::string::npos) << text;

  plain.connect_time = {};  // every connect failed: responses, if any, came on no connection
  text = hit::cli::text_report(plain, {o, false});
  EXPECT_EQ(line_starting(text, "  Connect "), "") << text;
  EXPECT_NE(line_starting(text, "  TTFB"), "") << text;

  hit::stats::summary nothing;
  nothing.record_error(hit::stats::error_kind::refused);
  text = hit::cli::text_report(nothing, {o, false});
  EXPECT_EQ(text.find("Timing breakdown"), std::string::npos) << text;
  EXPECT_EQ(text.find("TTFB"), std::string::npos) << text;
}

TEST(report, json_has_the_timing_breakdown_in_seconds_with_the_latency_keys) {
  const auto o = options();
  const auto j = hit::cli::json_report(https_run(), {o, false});
  for (const char* k : {"connect_s", "tls_handshake_s", "ttfb_s"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j[k].size(), j["latency_s"].size()) << k;
    for (const auto& [key, value] : j["latency_s"].items())
      EXPECT_TRUE(j[k].contains(key)) << k << " lacks " << key;
  }
  EXPECT_DOUBLE_EQ(j["connect_s"]["p50"].get<double>(), 250e-6);
  EXPECT_DOUBLE_EQ(j["connect_s"]["slowest"].get<double>(), 250e-6);
  EXPECT_DOUBLE_EQ(j["tls_handshake_s"]["p99"].get<double>(), 2e-3);
  EXPECT_NEAR(j["ttfb_s"]["p50"].get<double>(), 1e-3, 1e-3 * 0.01);
  EXPECT_NEAR(j["ttfb_s"]["p75"].get<double>(), 2e-3, 2e-3 * 0.01);
  EXPECT_NEAR(j["ttfb_s"]["p99"].get<double>(), 5e-3, 5e-3 * 0.01);
  EXPECT_DOUBLE_EQ(j["ttfb_s"]["slowest"].get<double>(), 9e-3);
  EXPECT_DOUBLE_EQ(j["dns_s"].get<double>(), 1.5e-3);
  EXPECT_EQ(j["tls"], (nlohmann::json{{"full_handshakes", 3}, {"resumed_handshakes", 1}}));
}

TEST(report, json_keeps_the_timing_schema_when_nothing_was_measured) {
  hit::stats::summary s;  // plain http, every connect refused: no sample anywhere
  s.record_error(hit::stats::error_kind::refused);
  const auto o = options();
  const auto j = hit::cli::json_report(s, {o, false});
  for (const char* k : {"latency_s", "connect_s", "tls_handshake_s", "ttfb_s"}) {
    ASSERT_TRUE(j.contains(k)) << k;
    EXPECT_EQ(j[k].size(), 10u) << k;
    for (const auto& [key, value] : j[k].items()) EXPECT_EQ(value, 0.0) << k << "." << key;
  }
  EXPECT_EQ(j["dns_s"], 0.0);
  EXPECT_EQ(j["tls"], (nlohmann::json{{"full_handshakes", 0}, {"resumed_handshakes", 0}}));
}

TEST(report, tls_failures_are_an_error_kind_in_both_reports) {
  hit::stats::summary s;
  s.record_error(hit::stats::error_kind::tls);
  s.record_error(hit::stats::error_kind::tls);
  const auto o = options();
  EXPECT_EQ(hit::cli::json_report(s, {o, false})["errors_by_kind"]["tls"], 2);
  EXPECT_EQ(hit::cli::json_report({}, {o, false})["errors_by_kind"]["tls"], 0) << "zeros included";
  const auto text = hit::cli::text_report(s, {o, false});
  EXPECT_NE(line_starting(text, "  tls  ").find(" 2"), std::string::npos) << text;
}

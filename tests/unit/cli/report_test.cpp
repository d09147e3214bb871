#include "report.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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

TEST(report, text_says_when_interrupted) {
  hit::stats::summary s;
  s.record_response(200, 1, 1ms, 1ms);
  const auto o = options();
  EXPECT_NE(hit::cli::text_report(s, {o, true}).find("interrupted"), std::string::npos);
  EXPECT_EQ(hit::cli::text_report(s, {o, false}).find("interrupted"), std::string::npos);
}

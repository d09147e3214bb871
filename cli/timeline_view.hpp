#pragma once
// The timeline as reports show it: one row per interval from the run's start to its end, gaps
// (intervals where nothing completed) as zeros, rates per second of each interval's own length
// (the last one is usually shorter), percentiles from the interval's merged histogram. Read by
// the JSON and CSV reports, live lines, and the HTML report's model.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "hit/stats/summary.hpp"

namespace hit::cli {

struct interval_view {
  double t_s = 0;      // the interval's start, seconds since the run's
  double width_s = 0;  // its length (the last may be cut short by the run's end)
  std::uint64_t requests = 0, successes = 0, errors = 0, bytes = 0;
  double rps = 0;
  // Latency of the interval's responses; none when it had none.
  std::optional<double> p50_s, p90_s, p99_s, max_s;
  std::array<std::uint64_t, stats::status_class_count> status_classes{};  // other, 1xx ... 5xx
  std::array<std::uint64_t, stats::error_kind_count> error_counts{};
};

std::vector<interval_view> timeline_view(const stats::summary& s);
interval_view view_of(const stats::interval_record& r, std::chrono::nanoseconds width,
                      std::chrono::nanoseconds run_end);

// One interval as a JSON object: {t_s, requests, rps, errors, p50_s, p90_s, p99_s, max_s, ...}.
nlohmann::json interval_json(const interval_view& v);

// One interval as a line for a terminal: "  3.0s  41234 req/s  p50 245us  p99 5.1ms  0 errors".
std::string interval_line(const interval_view& v);

// The timeline as CSV: a header line, then one line per interval; `run`: a first column
// naming the run (comparisons), or empty for none.
std::string timeline_csv_header(bool with_run);
std::string timeline_csv_row(const interval_view& v, const std::string& run);

}  // namespace hit::cli

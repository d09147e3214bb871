#pragma once
// threshold: a pass/fail rule on a run's results, k6's idea in hit's words: `p99<250ms`,
// `errors<0.1%`, `success>=99.9%`, `rps>=1000`, `status_5xx==0`. Parsed before any traffic,
// evaluated on a merged stats::summary (a run's, or one merged from results files), and, for the
// metrics the engine publishes while it runs, judged "already lost" early (--abort-on-threshold).
//
//   result<threshold> t = parse_threshold("p99 < 250ms");
//   if (!t) return usage_error(t.error());          // "threshold 'p99 < 250ms': ..."
//   threshold_result r = evaluate(*t, summary);      // r.pass, r.observed == "p99 = 12.3ms"
//   out += threshold_table({r});                     // "Thresholds:" and one row per rule
//
// Thread safety: plain values and pure functions; any thread.

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hit/http/load_test.hpp"
#include "hit/result.hpp"
#include "hit/stats/error_kind.hpp"
#include "hit/stats/summary.hpp"

namespace hit::cli {

// What a threshold measures.
enum class threshold_metric : std::uint8_t {
  latency_percentile,  // p<N>: a percentile of summary.latency (from each request's intended start)
  latency_mean,        // mean: its mean
  latency_min,         // min: its fastest
  latency_max,         // max: its slowest
  errors,              // errors: requests without a usable response
  error_kind,          // errors.<kind>: those of one stats::error_kind (errors.timeout)
  success,             // success: responses with a 2xx or 3xx status (always a ratio)
  rps,                 // rps: completed requests per second of the run (summary.rps())
  status_class,        // status_<N>xx: responses with a status of that class (status_5xx)
  status_code,         // status_<NNN>: responses with that status (status_404)
};

// The unit of a threshold's limit and of the value it observes.
enum class threshold_unit : std::uint8_t {
  nanoseconds,  // latency metrics
  percent,      // a ratio over all requests, 0 to 100 (typed with %: "0.1%" is 0.1)
  count,        // how many requests
  per_second,   // rps
};

enum class comparison : std::uint8_t { lt, le, gt, ge, eq, ne };

// "<", "<=", ">", ">=", "==", "!=".
std::string_view symbol(comparison op) noexcept;

struct threshold {
  std::string expression;  // as typed, for the report
  std::string metric;      // canonical name: "p99.9", "errors.timeout", "status_5xx"
  threshold_metric kind = threshold_metric::errors;
  threshold_unit unit = threshold_unit::count;
  double percentile = 0;                               // latency_percentile: in (0, 100)
  unsigned status = 0;                                 // status_class: 1..5; status_code: 100..599
  stats::error_kind error = stats::error_kind::other;  // error_kind
  comparison op = comparison::lt;
  // In `unit`. Percent, not a fraction, and nanoseconds, not seconds: what the user typed, so
  // that a value exactly at the limit compares as equal (999 of 1000 is 99.9%, never 99.9000001).
  double limit = 0;
};

// Parses `<metric> <op> <value>`, spaces optional: `p99<250ms`, `errors < 0.1%`, `success>=99.9%`,
// `rps>=1e3`, `status_5xx==0`, `errors.timeout<10`. A failure is one line naming the expression:
// "threshold 'p99<250': p99 is a latency: give its value a unit (ns, us, ms, s, m, h), e.g. 250ms".
result<threshold> parse_threshold(std::string_view expr);

// Whether the engine publishes the threshold's metric while it runs (http::progress): errors,
// errors.<kind>, success and status_<N>xx. Latency, rps and single status codes are judged
// only at the end.
[[nodiscard]] bool watched_during_run(const threshold& t) noexcept;

struct threshold_result {
  threshold rule;
  // Observed, in rule.unit. nullopt when undefined: a ratio over 0 requests, a latency with no
  // response. Undefined fails.
  std::optional<double> value;
  bool pass = false;
  // For people: "p99 = 12.3ms", "errors = 0.52% (13 of 2500)", "success = n/a (no requests)".
  std::string observed;
  // Set by the run: --abort-on-threshold stopped it when this threshold was lost. Such a
  // threshold does not pass (a ratio judged by the 100-request rule may recover once requests
  // in flight finish; it stopped the run all the same).
  bool stopped_run = false;
};

threshold_result evaluate(const threshold& t, const stats::summary& s);
std::vector<threshold_result> evaluate(const std::vector<threshold>& ts, const stats::summary& s);
[[nodiscard]] bool all_pass(const std::vector<threshold_result>& results) noexcept;

// The text report's section: "Thresholds:", then per rule PASS or FAIL, the expression as typed
// and the observed value. Empty for no results.
std::string threshold_table(const std::vector<threshold_result>& results);

// An array of {expression, metric, op, unit, limit, value, pass, stopped_run}. `unit` says what
// `limit` and `value` are: "s" (latency, seconds), "ratio" (a fraction of requests, 0 to 1:
// `errors<0.1%` has limit 0.001), "count", or "rps". `value` is null when undefined.
nlohmann::json thresholds_json(const std::vector<threshold_result>& results);

// Ratios are not judged during a run of unknown length before this many requests completed
// (k6's rule for an abort: a ratio of the first few requests says little).
inline constexpr std::uint64_t min_requests_to_judge = 100;

// Whether a threshold watched during the run can no longer pass, given what the loops counted
// so far (`so_far`, its outcome counts) and `total`, the most requests the run can complete
// (-n, or a finite schedule's count), or nullopt when only time bounds it.
// - With a total, the final value lies between what the remaining requests would make of it if
//   all succeeded and if all failed; lost when nothing in that range passes. Fewer requests
//   than `total` (-z ended first, not_sent) stay in that range.
// - Without one, counts only grow: lost when the count so far cannot come back (errors<10 at
//   10; never for errors>10). Ratios: lost when the ratio so far fails once at least
//   min_requests_to_judge requests completed (k6's rule).
// False for metrics not watched_during_run.
[[nodiscard]] bool already_lost(const threshold& t, const http::progress& so_far,
                                std::optional<std::uint64_t> total) noexcept;

}  // namespace hit::cli

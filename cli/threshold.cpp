#include "threshold.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"

namespace hit::cli {
namespace {

constexpr std::string_view known_metrics =
    "p<N> (p50, p99.9), mean, min, max, errors, errors.<kind>, success, rps, status_<N>xx "
    "(status_5xx) or status_<code> (status_404)";

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string quote(std::string_view s) {
  // Appended, not "'" + string: GCC 12 at -O3 warns (-Wrestrict, a false positive) on the latter.
  std::string out(1, '\'');
  out += printable(s);
  out += '\'';
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A decimal number as from_chars reads it (1e9 and .5 included), finite and not negative.
std::optional<double> plain_number(std::string_view s) {
  double v = 0;
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, v, std::chars_format::general);
  if (s.empty() || ec != std::errc{} || ptr != end || !std::isfinite(v) || v < 0)
    return std::nullopt;
  return v;
}

// Digits with at most one dot: "250", "1.5". What parse_duration would take as a bare number.
bool bare_number(std::string_view s) {
  return !s.empty() && std::count(s.begin(), s.end(), '.') <= 1 &&
         std::any_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

std::string error_kinds() {
  std::string out;
  for (std::size_t k = 0; k < stats::error_kind_count; ++k) {
    if (k > 0) out += ", ";
    out += stats::name(static_cast<stats::error_kind>(k));
  }
  return out;
}

// The metric part: fills kind, unit (its default; the value may turn a count into a percent),
// percentile, status, error and the canonical name. A failure is the reason alone.
result<threshold> parse_metric(std::string_view m) {
  threshold t;
  t.metric = std::string(m);
  auto latency = [&](threshold_metric k) {
    t.kind = k;
    t.unit = threshold_unit::nanoseconds;
    return t;
  };
  if (m == "mean") return latency(threshold_metric::latency_mean);
  if (m == "min") return latency(threshold_metric::latency_min);
  if (m == "max") return latency(threshold_metric::latency_max);
  if (m == "errors") return t;
  if (m == "success") {
    t.kind = threshold_metric::success;
    t.unit = threshold_unit::percent;
    return t;
  }
  if (m == "rps") {
    t.kind = threshold_metric::rps;
    t.unit = threshold_unit::per_second;
    return t;
  }
  if (m.size() > 1 && m[0] == 'p' && m[1] >= '0' && m[1] <= '9') {
    const auto digits = m.substr(1);
    const auto p = bare_number(digits) && digits.back() != '.' ? plain_number(digits)
                                                               : std::optional<double>();
    if (!p) return failure{"bad percentile " + quote(m) + ": use p<N>, e.g. p50, p99, p99.9"};
    if (!(*p > 0 && *p < 100))
      return failure{"percentile " + quote(m) +
                     " is out of range: N is above 0 and below 100 (min and max are the ends)"};
    t.percentile = *p;
    t.metric = fmt::format("p{}", *p);  // "p99.90" and "p099.9" are p99.9
    return latency(threshold_metric::latency_percentile);
  }
  if (m.starts_with("errors.")) {
    const auto k = m.substr(7);
    for (std::size_t i = 0; i < stats::error_kind_count; ++i) {
      if (stats::name(static_cast<stats::error_kind>(i)) != k) continue;
      t.kind = threshold_metric::error_kind;
      t.error = static_cast<stats::error_kind>(i);
      return t;
    }
    return failure{"unknown error kind " + quote(k) + " in " + quote(m) + ": use one of " +
                   error_kinds()};
  }
  if (m.starts_with("status_")) {
    const auto s = m.substr(7);
    if (s.size() == 3 && s[0] >= '1' && s[0] <= '5' && s.substr(1) == "xx") {
      t.kind = threshold_metric::status_class;
      t.status = static_cast<unsigned>(s[0] - '0');
      return t;
    }
    if (s.size() == 3 && all_digits(s) && s >= "100" && s <= "599") {
      t.kind = threshold_metric::status_code;
      t.status = static_cast<unsigned>(std::stoul(std::string(s)));
      return t;
    }
    return failure{"bad status metric " + quote(m) +
                   ": use status_1xx to status_5xx, or one status from status_100 to status_599"};
  }
  return failure{"unknown metric " + quote(m) + ": use " + std::string(known_metrics)};
}

// The value part, for the metric `t` names: sets limit, and unit when a % makes a count a ratio.
result<void> parse_value(threshold& t, std::string_view v) {
  const std::string& m = t.metric;
  const bool percent = v.ends_with('%');
  const auto number = trim(percent ? v.substr(0, v.size() - 1) : v);
  switch (t.unit) {
    case threshold_unit::nanoseconds: {
      if (percent)
        return failure{m + " is a latency: its value is a duration, e.g. 250ms, not a percentage"};
      if (bare_number(v))
        return failure{m + " is a latency: " + quote(v) +
                       " needs a unit (ns, us, ms, s, m, h), e.g. 250ms"};
      const auto d = stats::parse_duration(v);
      if (!d)
        return failure{m + " is a latency: its value is a duration, e.g. 250ms or 1.5s, got " +
                       quote(v)};
      t.limit = static_cast<double>(d->count());
      return {};
    }
    case threshold_unit::per_second: {
      const auto r = percent ? std::nullopt : plain_number(v);
      if (!r)
        return failure{
            "rps is completed requests per second: its value is a plain number, e.g. "
            "rps>=1000, got " +
            quote(v)};
      t.limit = *r;
      return {};
    }
    case threshold_unit::percent:  // success
      if (!percent)
        return failure{m + " is a ratio: give a percentage, e.g. " + m + ">=99.9%, got " +
                       quote(v)};
      break;
    case threshold_unit::count:
      if (!percent) {
        std::uint64_t n = 0;
        const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (all_digits(v) && ec == std::errc{} && ptr == v.data() + v.size()) {
          t.limit = static_cast<double>(n);
          return {};
        }
        if (plain_number(v))
          return failure{m + " is a count: use a whole number, or a percentage of requests (" + m +
                         "<0.1%), got " + quote(v)};
        return failure{m + " is a count (no unit), or with % a ratio of requests: e.g. " + m +
                       "<10 or " + m + "<0.1%, got " + quote(v)};
      }
      t.unit = threshold_unit::percent;
      break;
  }
  const auto p = plain_number(number);
  if (!p || *p > 100) return failure{m + " wants a percentage from 0% to 100%, got " + quote(v)};
  t.limit = *p;
  return {};
}

bool holds(comparison op, double v, double limit) noexcept {
  switch (op) {
    case comparison::lt:
      return v < limit;
    case comparison::le:
      return v <= limit;
    case comparison::gt:
      return v > limit;
    case comparison::ge:
      return v >= limit;
    case comparison::eq:
      return v == limit;
    case comparison::ne:
      return v != limit;
  }
  return false;
}

// Whether some value in [lo, hi] satisfies `op limit`: the continuous range holds every value
// the discrete outcomes can reach, so "none" is a safe verdict.
bool can_hold(comparison op, double lo, double hi, double limit) noexcept {
  switch (op) {
    case comparison::lt:
      return lo < limit;
    case comparison::le:
      return lo <= limit;
    case comparison::gt:
      return hi > limit;
    case comparison::ge:
      return hi >= limit;
    case comparison::eq:
      return lo <= limit && limit <= hi;
    case comparison::ne:
      return !(lo == limit && hi == limit);
  }
  return true;
}

// The requests a count or ratio metric counts, in a merged summary.
std::uint64_t count_in(const threshold& t, const stats::summary& s) {
  switch (t.kind) {
    case threshold_metric::errors:
      return s.errors;
    case threshold_metric::error_kind:
      return s.error_count(t.error);
    case threshold_metric::success:
      return s.successes;
    case threshold_metric::status_class:
      return s.status_class_total(t.status);
    case threshold_metric::status_code:
      return s.status_counts[t.status];
    default:
      return 0;
  }
}

// The same in a run's progress (watched metrics only).
std::uint64_t count_in(const threshold& t, const http::progress& p) noexcept {
  switch (t.kind) {
    case threshold_metric::errors: {
      std::uint64_t n = 0;
      for (const auto c : p.errors_by_kind) n += c;
      return n;
    }
    case threshold_metric::error_kind:
      return p.errors_by_kind[static_cast<std::size_t>(t.error)];
    case threshold_metric::success:
      return p.status_classes[2] + p.status_classes[3];
    case threshold_metric::status_class:
      return p.status_classes[t.status];
    default:
      return 0;
  }
}

// 100 x / n, multiplied first so that a ratio exactly at a typed percentage equals it.
double percent_of(std::uint64_t x, std::uint64_t n) {
  return static_cast<double>(x) * 100.0 / static_cast<double>(n);
}

// "0.52", "99.9", "100": four decimals at most, trailing zeros dropped.
std::string percent_text(double v) {
  std::string s = fmt::format("{:.4f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string unit_key(threshold_unit u) {
  switch (u) {
    case threshold_unit::nanoseconds:
      return "s";
    case threshold_unit::percent:
      return "ratio";
    case threshold_unit::count:
      return "count";
    case threshold_unit::per_second:
      return "rps";
  }
  return "";
}

// A value in `u` as the JSON gives it: seconds, a fraction, a count, requests per second.
double json_value(threshold_unit u, double v) {
  switch (u) {
    case threshold_unit::nanoseconds:
      return v / 1e9;
    case threshold_unit::percent:
      return v / 100;
    default:
      return v;
  }
}

}  // namespace

std::string_view symbol(comparison op) noexcept {
  switch (op) {
    case comparison::lt:
      return "<";
    case comparison::le:
      return "<=";
    case comparison::gt:
      return ">";
    case comparison::ge:
      return ">=";
    case comparison::eq:
      return "==";
    case comparison::ne:
      return "!=";
  }
  return "?";
}

result<threshold> parse_threshold(std::string_view expr) {
  const std::string where = "threshold " + quote(expr) + ": ";
  const auto text = trim(expr);
  if (text.empty())
    return failure{where + "empty: use METRIC OP VALUE, e.g. p99<250ms or errors<0.1%"};
  const auto at = text.find_first_of("<>=!");
  if (at == std::string_view::npos)
    return failure{where +
                   "no comparison: use <, <=, >, >=, == or != between a metric and a "
                   "value, e.g. p99<250ms"};
  const char next = at + 1 < text.size() ? text[at + 1] : '\0';
  comparison op{};
  switch (text[at]) {
    case '<':
      op = next == '=' ? comparison::le : comparison::lt;
      break;
    case '>':
      op = next == '=' ? comparison::ge : comparison::gt;
      break;
    case '=':
      if (next != '=') return failure{where + "'=' is no comparison: use == (or <=, >=)"};
      op = comparison::eq;
      break;
    default:  // '!'
      if (next != '=') return failure{where + "'!' is no comparison: use !="};
      op = comparison::ne;
      break;
  }
  const auto metric = trim(text.substr(0, at));
  const auto value = trim(text.substr(at + symbol(op).size()));
  if (metric.empty())
    return failure{where + "no metric before '" + std::string(symbol(op)) + "': use " +
                   std::string(known_metrics)};
  if (value.empty()) return failure{where + "no value after '" + std::string(symbol(op)) + "'"};
  auto t = parse_metric(metric);
  if (!t) return failure{where + t.error()};
  if (auto v = parse_value(*t, value); !v) return failure{where + v.error()};
  t->expression = std::string(expr);
  t->op = op;
  return t;
}

bool watched_during_run(const threshold& t) noexcept {
  switch (t.kind) {
    case threshold_metric::errors:
    case threshold_metric::error_kind:
    case threshold_metric::success:
    case threshold_metric::status_class:
      return true;
    default:
      return false;
  }
}

threshold_result evaluate(const threshold& t, const stats::summary& s) {
  threshold_result r{t, std::nullopt, false, "", false};
  const std::string& m = t.metric;
  switch (t.unit) {
    case threshold_unit::nanoseconds: {
      const auto& h = s.latency;
      if (h.count() == 0) {
        r.observed = m + " = n/a (no responses)";
        return r;
      }
      switch (t.kind) {
        case threshold_metric::latency_mean:
          r.value = h.mean();
          break;
        case threshold_metric::latency_min:
          r.value = static_cast<double>(h.min());
          break;
        case threshold_metric::latency_max:
          r.value = static_cast<double>(h.max());
          break;
        default:
          r.value = static_cast<double>(h.percentile(t.percentile));
          break;
      }
      r.observed = m + " = " + stats::format_duration_ns(*r.value);
      break;
    }
    case threshold_unit::per_second:
      r.value = s.rps();
      r.observed = fmt::format("{} = {:.1f}", m, *r.value);
      break;
    case threshold_unit::count:
      r.value = static_cast<double>(count_in(t, s));
      r.observed = fmt::format("{} = {}", m, count_in(t, s));
      break;
    case threshold_unit::percent: {
      if (s.requests == 0) {
        r.observed = m + " = n/a (no requests)";
        return r;
      }
      const auto x = count_in(t, s);
      r.value = percent_of(x, s.requests);
      r.observed = fmt::format("{} = {}% ({} of {})", m, percent_text(*r.value), x, s.requests);
      break;
    }
  }
  r.pass = holds(t.op, *r.value, t.limit);
  return r;
}

std::vector<threshold_result> evaluate(const std::vector<threshold>& ts, const stats::summary& s) {
  std::vector<threshold_result> out;
  out.reserve(ts.size());
  for (const auto& t : ts) out.push_back(evaluate(t, s));
  return out;
}

bool all_pass(const std::vector<threshold_result>& results) noexcept {
  return std::all_of(results.begin(), results.end(),
                     [](const threshold_result& r) { return r.pass && !r.stopped_run; });
}

std::string threshold_table(const std::vector<threshold_result>& results) {
  if (results.empty()) return {};
  std::size_t width = 0;
  for (const auto& r : results) width = std::max(width, printable(r.rule.expression).size());
  std::string out = "Thresholds:\n";
  for (const auto& r : results)
    out += fmt::format("  {}  {:<{}}  {}{}\n", r.pass && !r.stopped_run ? "PASS" : "FAIL",
                       printable(r.rule.expression), width, r.observed,
                       r.stopped_run ? " (lost during the run: stopped it)" : "");
  return out;
}

nlohmann::json thresholds_json(const std::vector<threshold_result>& results) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : results) {
    const auto& t = r.rule;
    a.push_back({{"expression", t.expression},
                 {"metric", t.metric},
                 {"op", std::string(symbol(t.op))},
                 {"unit", unit_key(t.unit)},
                 {"limit", json_value(t.unit, t.limit)},
                 {"value",
                  r.value ? nlohmann::json(json_value(t.unit, *r.value)) : nlohmann::json(nullptr)},
                 {"pass", r.pass && !r.stopped_run},
                 {"stopped_run", r.stopped_run}});
  }
  return a;
}

bool already_lost(const threshold& t, const http::progress& so_far,
                  std::optional<std::uint64_t> total) noexcept {
  if (!watched_during_run(t)) return false;
  const std::uint64_t done = so_far.outcomes();  // the total the counts are consistent with
  const std::uint64_t x = count_in(t, so_far);
  if (total) {
    const std::uint64_t n = std::max(*total, done);
    const std::uint64_t rest = n - done;
    if (t.unit == threshold_unit::count)
      return !can_hold(t.op, static_cast<double>(x), static_cast<double>(x + rest), t.limit);
    if (n == 0) return false;
    return !can_hold(t.op, percent_of(x, n), percent_of(x + rest, n), t.limit);
  }
  if (t.unit == threshold_unit::count)
    return !can_hold(t.op, static_cast<double>(x), std::numeric_limits<double>::infinity(),
                     t.limit);
  return done >= min_requests_to_judge && !holds(t.op, percent_of(x, done), t.limit);
}

}  // namespace hit::cli

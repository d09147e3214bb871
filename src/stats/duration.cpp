#include "hit/stats/duration.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "hit/printable.hpp"

namespace hit::stats {

result<std::chrono::nanoseconds> parse_duration(std::string_view s,
                                                std::chrono::nanoseconds bare_unit) {
  const auto bad = [s] {
    return failure{"cannot parse duration '" + printable(s) +
                   "': use a number with a unit, e.g. 500ms, 10s, 2m"};
  };
  if (s.empty()) return bad();
  double total_ns = 0;
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t num_start = i;
    bool dot = false;
    while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || (s[i] == '.' && !dot))) {
      dot = dot || s[i] == '.';
      ++i;
    }
    if (i == num_start || (i == num_start + 1 && dot)) return bad();
    double value = 0;
    const auto num = s.substr(num_start, i - num_start);
    const auto [end, ec] = std::from_chars(num.data(), num.data() + num.size(), value);
    if (ec != std::errc{} || end != num.data() + num.size()) return bad();  // e.g. 1e999
    const std::size_t unit_start = i;
    while (i < s.size() && (s[i] >= 'a' && s[i] <= 'z')) ++i;
    const std::string_view unit = s.substr(unit_start, i - unit_start);
    double scale = 0;
    if (unit.empty()) {
      if (num_start != 0 || i != s.size()) return bad();  // bare numbers stand alone
      scale = static_cast<double>(bare_unit.count());
    } else if (unit == "ns") {
      scale = 1;
    } else if (unit == "us") {
      scale = 1e3;
    } else if (unit == "ms") {
      scale = 1e6;
    } else if (unit == "s") {
      scale = 1e9;
    } else if (unit == "m") {
      scale = 60e9;
    } else if (unit == "h") {
      scale = 3600e9;
    } else {
      return bad();
    }
    total_ns += value * scale;
  }
  if (!std::isfinite(total_ns) || total_ns > 9e18) return bad();
  return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(total_ns)));
}

std::string format_duration_ns(double ns) {
  if (!(ns > 0)) return "0s";
  char buf[32];
  auto fmt = [&](double v, const char* unit) {
    if (v >= 100)
      std::snprintf(buf, sizeof buf, "%.0f%s", v, unit);
    else if (v >= 10)
      std::snprintf(buf, sizeof buf, "%.1f%s", v, unit);
    else
      std::snprintf(buf, sizeof buf, "%.2f%s", v, unit);
    return std::string(buf);
  };
  if (ns < 1e3) return fmt(ns, "ns");
  if (ns < 1e6) return fmt(ns / 1e3, "us");
  if (ns < 1e9) return fmt(ns / 1e6, "ms");
  if (ns < 60e9) return fmt(ns / 1e9, "s");
  const auto total_s = static_cast<long long>(ns / 1e9);
  std::snprintf(buf, sizeof buf, "%lldm%02llds", total_s / 60, total_s % 60);
  return buf;
}

std::string format_duration(std::chrono::nanoseconds d) {
  return format_duration_ns(static_cast<double>(d.count()));
}

}  // namespace hit::stats

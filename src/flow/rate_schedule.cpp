#include "hit/flow/rate_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace hit::flow {
namespace {

constexpr auto open_ended = std::chrono::nanoseconds::max();

double seconds(std::chrono::nanoseconds d) {
  return d == open_ended ? std::numeric_limits<double>::infinity()
                         : std::chrono::duration<double>(d).count();
}

// Time (s) into a segment ramping a -> b with slope s (items/s^2) at which m items are done:
// solves s/2 t^2 + a t = m in the form that stays exact for s = 0 and for a = 0.
double time_for_count(double a, double s, double m) {
  if (m <= 0) return 0;
  return 2 * m / (a + std::sqrt(a * a + 2 * s * m));
}

}  // namespace

rate_schedule rate_schedule::constant(double per_second) {
  if (!(per_second > 0)) throw std::invalid_argument("rate must be positive");
  return rate_schedule({segment{open_ended, per_second, per_second}});
}

rate_schedule rate_schedule::ramp(double from, double to, std::chrono::nanoseconds over) {
  return rate_schedule({segment{over, from, to}});
}

rate_schedule rate_schedule::stages(
    double start_rate, const std::vector<std::pair<std::chrono::nanoseconds, double>>& s) {
  std::vector<segment> segs;
  double prev = start_rate;
  for (const auto& [d, target] : s) {
    segs.push_back(segment{d, prev, target});
    prev = target;
  }
  return rate_schedule(std::move(segs));
}

rate_schedule::rate_schedule(std::vector<segment> segments) : segments_(std::move(segments)) {
  if (segments_.empty()) throw std::invalid_argument("a rate schedule needs a segment");
  double count = 0;
  double time = 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    const auto& sg = segments_[i];
    if (sg.from_rate < 0 || sg.to_rate < 0 || !std::isfinite(sg.from_rate) ||
        !std::isfinite(sg.to_rate))
      throw std::invalid_argument("rates must be finite and >= 0");
    if (sg.duration.count() <= 0) throw std::invalid_argument("segment durations must be > 0");
    if (sg.duration == open_ended && (i + 1 != segments_.size() || sg.from_rate != sg.to_rate))
      throw std::invalid_argument("only a constant last segment may be open-ended");
    start_count_.push_back(count);
    start_time_s_.push_back(time);
    const double d = seconds(sg.duration);
    count += (sg.from_rate + sg.to_rate) / 2 * d;
    time += d;
  }
  start_count_.push_back(count);
  start_time_s_.push_back(time);
}

std::optional<std::chrono::nanoseconds> rate_schedule::due(std::uint64_t k) const {
  const auto kd = static_cast<double>(k);
  // The segment in which the cumulative count reaches k: the last whose start count <= k and
  // whose end count > k. Schedules have a handful of segments; a linear scan is the fastest.
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (kd < start_count_[i + 1]) {
      const auto& sg = segments_[i];
      const double d = seconds(sg.duration);
      const double slope = std::isinf(d) ? 0.0 : (sg.to_rate - sg.from_rate) / d;
      const double t = start_time_s_[i] + time_for_count(sg.from_rate, slope, kd - start_count_[i]);
      if (!(t * 1e9 < 9.2e18)) return std::nullopt;  // beyond ~292 years: never due
      return std::chrono::nanoseconds(static_cast<std::int64_t>(std::llround(t * 1e9)));
    }
  }
  return std::nullopt;
}

std::optional<std::uint64_t> rate_schedule::total() const {
  const double c = start_count_.back();
  if (std::isinf(c)) return std::nullopt;
  return static_cast<std::uint64_t>(std::ceil(c - 1e-9));
}

double rate_schedule::rate_at(std::chrono::nanoseconds t) const {
  const double ts = seconds(t);
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (ts < start_time_s_[i + 1]) {
      const auto& sg = segments_[i];
      const double d = seconds(sg.duration);
      if (std::isinf(d)) return sg.from_rate;
      return sg.from_rate + (sg.to_rate - sg.from_rate) * (ts - start_time_s_[i]) / d;
    }
  }
  return 0;
}

std::uint64_t rate_schedule::count_before(std::chrono::nanoseconds t) const {
  const double ts = seconds(t);
  if (ts <= 0) return 0;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (ts < start_time_s_[i + 1]) {
      const auto& sg = segments_[i];
      const double d = seconds(sg.duration);
      const double slope = std::isinf(d) ? 0.0 : (sg.to_rate - sg.from_rate) / d;
      const double x = ts - start_time_s_[i];
      return static_cast<std::uint64_t>(
          std::ceil(start_count_[i] + sg.from_rate * x + slope * x * x / 2 - 1e-9));
    }
  }
  return total().value_or(0);
}

}  // namespace hit::flow

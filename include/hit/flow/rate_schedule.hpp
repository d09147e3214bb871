#pragma once
// rate_schedule: when item k of a paced stream is meant to start.
//
// One implementation serves both halves of hit: flow::throttle paces items on a thread with it,
// and the HTTP engine paces requests on each event loop with it. A schedule is a list of
// segments, each ramping linearly from one rate to another over a duration (k6's stages); a
// constant rate is one open-ended segment. Item k (0-based) is due at the time t at which the
// cumulative count N(t) = integral of rate(t) reaches k, so item 0 is due at t = 0.
//
// Thread safety: a rate_schedule is immutable after construction; any number of threads may
// call its const members at once.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

namespace hit::flow {

class rate_schedule {
 public:
  struct segment {
    std::chrono::nanoseconds duration;  // nanoseconds::max() = open-ended (last segment only)
    double from_rate;                   // items per second at the segment's start, >= 0
    double to_rate;                     // items per second at its end, >= 0
  };

  // A constant rate forever. Precondition: per_second > 0.
  static rate_schedule constant(double per_second);
  // A linear ramp from `from` to `to` items per second over `over`, then stop.
  static rate_schedule ramp(double from, double to, std::chrono::nanoseconds over);
  // Piecewise-linear stages, k6 style: each stage ramps from the previous stage's target
  // (`start_rate` for the first) to its own target over its duration; the schedule ends after
  // the last stage.
  static rate_schedule stages(double start_rate,
                              const std::vector<std::pair<std::chrono::nanoseconds, double>>& s);

  explicit rate_schedule(std::vector<segment> segments);

  // Offset from the start at which item k is due, or nullopt when the schedule ends before it.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> due(std::uint64_t k) const;

  // Total items in a finite schedule; nullopt when open-ended.
  [[nodiscard]] std::optional<std::uint64_t> total() const;

  // Rate (items per second) at offset t from the start; 0 after the end.
  [[nodiscard]] double rate_at(std::chrono::nanoseconds t) const;

  // Items due at offsets [0, t): the cumulative count N(t), rounded up.
  [[nodiscard]] std::uint64_t count_before(std::chrono::nanoseconds t) const;

  [[nodiscard]] const std::vector<segment>& segments() const { return segments_; }

 private:
  std::vector<segment> segments_;
  std::vector<double> start_count_;   // cumulative item count at each segment's start
  std::vector<double> start_time_s_;  // each segment's start, in seconds
};

// pacer: a cursor over a schedule for one consumer that takes every `stride`-th item starting
// at `first`. T consumers with (first = i, stride = T) together follow the global schedule
// exactly, each without talking to the others. The engine gives one to each event loop; a run
// split into N shards of T loops gives loop i of shard s (first = s + N*i, stride = N*T), so the
// N*T loops on any number of machines still follow the one schedule.
//
// Thread safety: a pacer belongs to one thread; it is not safe to share.
class pacer {
 public:
  pacer(const rate_schedule& schedule, std::uint64_t first = 0, std::uint64_t stride = 1)
      : schedule_(&schedule), next_(first), stride_(stride) {}

  // Offset at which this consumer's next item is due (nullopt when the schedule is over),
  // without taking it.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> peek() const {
    return schedule_->due(next_);
  }
  // Takes the next item: returns its offset, or nullopt when the schedule is over.
  std::optional<std::chrono::nanoseconds> take() {
    auto d = schedule_->due(next_);
    if (d) next_ += stride_;
    return d;
  }
  // Global index of the next item this consumer will take.
  [[nodiscard]] std::uint64_t next_index() const { return next_; }
  [[nodiscard]] std::uint64_t stride() const { return stride_; }

 private:
  const rate_schedule* schedule_;
  std::uint64_t next_;
  std::uint64_t stride_;
};

}  // namespace hit::flow

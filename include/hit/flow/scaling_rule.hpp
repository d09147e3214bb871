#pragma once
// scaling_rule: when an elastic set of workers grows and shrinks. One rule, written once, for
// every elastic set in hit: the threads of flow::elastic_pool and the connections of the
// engine's open model (src/http/open_pool.cpp).
//
//   grow:    work that finds no idle worker (and no worker already starting for it) starts one,
//            up to `max`;
//   shrink:  a worker idle for `idle_timeout` retires, down to `min`.
//
// So a backlog grows the set one worker per unserved item up to the cap, a trickle that idle
// workers absorb starts none, and a set at `min` never retires for idleness (folly's
// ThreadPoolExecutor rule). A value type with no state of its own: the caller counts its
// workers and calls these under whatever lock guards the counts.

#include <algorithm>
#include <chrono>
#include <cstddef>

namespace hit::flow {

struct scaling_rule {
  std::size_t min = 0;  // started at the beginning, never retired for idleness
  std::size_t max = 1;  // >= 1, >= min
  std::chrono::nanoseconds idle_timeout{std::chrono::seconds(1)};

  [[nodiscard]] constexpr bool valid() const noexcept { return max >= 1 && min <= max; }

  // Workers to start now for `unserved` items (those no idle or starting worker will take),
  // with `workers` in the set (running or starting).
  [[nodiscard]] constexpr std::size_t to_start(std::size_t unserved,
                                               std::size_t workers) const noexcept {
    return workers >= max ? 0 : std::min(unserved, max - workers);
  }

  // Whether idle workers in a set of `workers` may retire at all (the set is above its floor).
  [[nodiscard]] constexpr bool may_retire(std::size_t workers) const noexcept {
    return workers > min;
  }

  // Whether a worker idle since `idle_since` retires at `now`, in a set of `workers`.
  template <class TimePoint>
  [[nodiscard]] constexpr bool retires(TimePoint idle_since, TimePoint now,
                                       std::size_t workers) const noexcept {
    return may_retire(workers) && now - idle_since >= idle_timeout;
  }
};

}  // namespace hit::flow

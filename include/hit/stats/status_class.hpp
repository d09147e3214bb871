#pragma once
// Status classes: 1xx ... 5xx, and class 0 for a status outside 100..599 (0: none parsed, or
// 1..99, which the summary keeps under their own code). One rule for the timeline's intervals,
// the summary's class totals, the progress counters and the thresholds on a class.

#include <cstddef>

namespace hit::stats {

inline constexpr std::size_t status_class_count = 6;

constexpr std::size_t status_class(unsigned status) noexcept {
  return status < 600 ? status / 100 : 0;
}

}  // namespace hit::stats

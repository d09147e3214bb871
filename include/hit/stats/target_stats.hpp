#pragma once
// target_stats: what one target of a targets file got (--targets): requests, outcomes by status
// and error kind, and latency, for the report's breakdown by target. A summary keeps one per
// named target (summary::by_target), so it is small and fixed: its status codes in eight slots
// (a target rarely sees more than three codes; any further code is counted in other_codes,
// still within its class), its latency in a coarse histogram (~5 KiB, within 3.2%).
//
// Thread safety: none; one owner thread, merge after join (as summary).

#include <array>
#include <chrono>
#include <cstdint>
#include <utility>

#include "hit/stats/error_kind.hpp"
#include "hit/stats/histogram.hpp"
#include "hit/stats/status_class.hpp"

namespace hit::stats {

struct target_stats {
  static constexpr std::size_t code_slots = 8;

  void record_response(unsigned status, std::chrono::nanoseconds from_intended) noexcept {
    ++requests;
    if (status >= 200 && status < 400) ++successes;
    ++status_classes[status_class(status)];
    latency.record(from_intended);
    for (auto& [code, n] : codes) {
      if (code == status || n == 0) {
        code = static_cast<std::uint16_t>(status);
        ++n;
        return;
      }
    }
    ++other_codes;
  }
  void record_error(error_kind k) noexcept {
    ++requests;
    ++errors;
    ++error_counts[static_cast<std::size_t>(k)];
  }
  // Adds everything `o` counted (its codes into free slots, or other_codes when none is free).
  void merge(const target_stats& o) noexcept;

  std::uint64_t requests = 0;   // responses + errors
  std::uint64_t successes = 0;  // 2xx and 3xx
  std::uint64_t errors = 0;
  std::array<std::uint64_t, status_class_count> status_classes{};  // by status_class()
  // (code, responses), filled in the order codes were first seen; a slot with 0 is free.
  std::array<std::pair<std::uint16_t, std::uint64_t>, code_slots> codes{};
  std::uint64_t other_codes = 0;  // responses whose code found no slot
  std::array<std::uint64_t, error_kind_count> error_counts{};
  coarse_histogram latency;  // from intended start, as summary::latency
};

}  // namespace hit::stats

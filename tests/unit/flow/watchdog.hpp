#pragma once
// A per-test watchdog: if the test has not finished within the limit, print which one hung and
// abort, so a deadlock fails fast instead of stalling CI until the CTest timeout. Also
// `eventually`, the bounded probe the tests wait with.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "hit/flow/detail/wait.hpp"

namespace hit::flow::test {

// HIT_TSAN builds run 5-15x slower; big counts are scaled down with this.
#if defined(HIT_TSAN)
inline constexpr bool under_tsan = true;
#else
inline constexpr bool under_tsan = false;
#endif

// A probe for a state another thread will reach: polls `cond` until it holds or `limit` passes,
// and returns whether it held. Use it instead of sleeping and hoping the other thread got there;
// the limit is a generous bound for a loaded machine, not an expected duration.
template <class Cond>
bool eventually(Cond&& cond, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return cond();
}

class watchdog {
 public:
  explicit watchdog(std::chrono::seconds limit)
      : name_(current_test_name()), thread_([this, limit](std::stop_token st) {
          if (!detail::sleep_until(std::chrono::steady_clock::now() + limit, st)) return;
          std::fprintf(stderr, "watchdog: %s did not finish within %lld s; aborting\n",
                       name_.c_str(), static_cast<long long>(limit.count()));
          std::fflush(stderr);
          std::abort();
        }) {}

 private:
  static std::string current_test_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "?";
  }

  std::string name_;
  std::jthread thread_;
};

}  // namespace hit::flow::test

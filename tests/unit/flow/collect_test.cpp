#include "hit/flow/collect.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>

#include "hit/flow/dispatch.hpp"
#include "hit/flow/produce.hpp"
#include "hit/flow/throttle.hpp"
#include "watchdog.hpp"

using namespace std::chrono_literals;
using hit::flow::collect;
using hit::flow::dispatch;
using hit::flow::produce;
using hit::flow::throttle;
using hit::flow::test::under_tsan;
using hit::flow::test::watchdog;

namespace {
// The seed's Result and summary, reduced.
struct result {
  bool ok;
  std::chrono::nanoseconds took;
};
struct summary {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::chrono::nanoseconds fastest = std::chrono::nanoseconds::max();
  std::chrono::nanoseconds slowest{0};
};
void merge(summary& s, result&& r) {
  ++s.requests;
  if (!r.ok) ++s.errors;
  s.fastest = std::min(s.fastest, r.took);
  s.slowest = std::max(s.slowest, r.took);
}
}  // namespace

TEST(collect, folds_every_result_of_the_pipeline) {
  watchdog wd(60s);
  const std::uint64_t n = under_tsan ? 50'000 : 500'000;
  auto results = dispatch(produce(n, [](std::uint64_t i) { return i; }), 4, [](std::uint64_t i) {
    return result{i % 10 != 0, std::chrono::nanoseconds(i % 1000 + 1)};
  });
  const auto c = collect(std::move(results), summary{}, merge);
  EXPECT_FALSE(c.cancelled);
  EXPECT_EQ(c.merged, n);
  EXPECT_EQ(c.value.requests, n);
  EXPECT_EQ(c.value.errors, n / 10);
  EXPECT_EQ(c.value.fastest, std::chrono::nanoseconds(1));
  EXPECT_EQ(c.value.slowest, std::chrono::nanoseconds(1000));
  EXPECT_EQ(c.not_processed, 0u);
}

// Cancel in the middle of produce -> throttle -> dispatch -> collect: every thread is joined
// (collect returns), and every item is accounted for exactly once.
TEST(collect, cancel_reaches_every_stage_and_accounts_for_every_item) {
  watchdog wd(60s);
  for (int round = 0; round < (under_tsan ? 5 : 20); ++round) {
    const std::uint64_t n = 1'000'000;
    std::stop_source stop;
    auto tok = stop.get_token();
    auto results = dispatch(throttle(produce(
                                         n, [](std::uint64_t i) { return i; }, tok),
                                     200'000.0, tok),
                            8,
                            [](std::uint64_t i) {
                              std::this_thread::sleep_for(10us);
                              return result{true, std::chrono::nanoseconds(i)};
                            },
                            tok, {.capacity = 16, .batch = 4});
    std::thread canceller([&stop, round] {
      std::this_thread::sleep_for(std::chrono::milliseconds(5 + 7 * round));
      stop.request_stop();
    });
    const auto c = collect(std::move(results), summary{}, merge, tok);
    canceller.join();
    EXPECT_TRUE(c.cancelled);
    EXPECT_EQ(c.merged + c.not_processed + c.results_dropped, n) << "round " << round;
    EXPECT_GT(c.not_processed, 0u);
  }
}

TEST(collect, a_rendezvous_pipeline_like_the_go_seed) {
  watchdog wd(60s);
  const hit::flow::stage_options unbuffered{.capacity = 0, .batch = 1};
  auto results = dispatch(
      produce(
          10'000, [](std::uint64_t i) { return i; }, {}, unbuffered),
      3, [](std::uint64_t i) { return i; }, {}, unbuffered);
  const auto c = collect(std::move(results), std::uint64_t{0},
                         [](std::uint64_t& acc, std::uint64_t v) { acc += v; });
  EXPECT_EQ(c.merged, 10'000u);
  EXPECT_EQ(c.value, 10'000u * 9'999u / 2);
}

#include "hit/flow/throttle.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "hit/flow/produce.hpp"
#include "watchdog.hpp"

using namespace std::chrono_literals;
using hit::flow::channel_status;
using hit::flow::produce;
using hit::flow::rate_schedule;
using hit::flow::throttle;
using hit::flow::test::watchdog;
using clk = std::chrono::steady_clock;

// 50 items at 100/s: item k is never released before k * 10 ms (absolute deadlines), and the
// whole run takes about 490 ms — the upper bound is wide for a loaded machine.
TEST(throttle, never_releases_early_and_does_not_drift) {
  watchdog wd(30s);
  const auto start = clk::now();
  auto s = throttle(produce(50, [](std::uint64_t i) { return i; }), 100.0);
  std::uint64_t k = 0;
  while (auto r = s.output().recv()) {
    EXPECT_EQ(*r.value, k);
    EXPECT_GE(clk::now() - start, std::chrono::milliseconds(10 * k) - 1ms) << "item " << k;
    ++k;
  }
  const auto took = clk::now() - start;
  EXPECT_EQ(k, 50u);
  EXPECT_GE(took, 480ms);
  EXPECT_LT(took, 3s);
}

// 200k items at 1M/s: far above what a timer can tick, so items go out in batches, and the run
// still takes about 0.2 s rather than 200k sleeps.
TEST(throttle, releases_batches_above_the_timer_rate) {
  watchdog wd(60s);
  const auto start = clk::now();
  auto s = throttle(produce(200'000, [](std::uint64_t i) { return i; }), 1e6);
  std::uint64_t n = 0;
  std::vector<std::uint64_t> out;
  while (s.output().recv_batch(out, 1024) == channel_status::ok) {
    n += out.size();
    out.clear();
  }
  const auto took = clk::now() - start;
  EXPECT_EQ(n, 200'000u);
  EXPECT_GE(took, 190ms);
  EXPECT_LT(took, 10s);
}

TEST(throttle, a_finite_schedule_ends_the_stream) {
  watchdog wd(30s);
  // 0 -> 200/s over 0.5 s: 50 items, then the schedule is over.
  auto s = throttle(produce(1000, [](std::uint64_t i) { return i; }),
                    rate_schedule::ramp(0, 200, 500ms));
  std::uint64_t n = 0;
  while (s.output().recv()) ++n;
  EXPECT_EQ(n, 50u);
  EXPECT_EQ(s.join().not_processed, 950u);
}

TEST(throttle, cancel_while_sleeping_is_prompt_and_counted) {
  watchdog wd(30s);
  std::stop_source stop;
  auto s = throttle(produce(
                        100, [](std::uint64_t i) { return i; }, stop.get_token()),
                    1.0, stop.get_token());
  ASSERT_TRUE(s.output().recv());  // item 0 is due at once; item 1 in a second
  const auto t0 = clk::now();
  stop.request_stop();
  const auto rep = s.join();
  EXPECT_LT(clk::now() - t0, 900ms);
  EXPECT_EQ(1 + s.output().size() + rep.not_processed, 100u);
}

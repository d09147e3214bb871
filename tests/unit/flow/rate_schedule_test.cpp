#include "hit/flow/rate_schedule.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace std::chrono_literals;
using hit::flow::pacer;
using hit::flow::rate_schedule;

TEST(rate_schedule, constant_rate_spaces_items_evenly) {
  auto s = rate_schedule::constant(1000);
  EXPECT_EQ(s.due(0), 0ns);
  EXPECT_EQ(s.due(1), 1ms);
  EXPECT_EQ(s.due(2500), 2500ms);
  EXPECT_FALSE(s.total().has_value());
  EXPECT_EQ(s.count_before(1s), 1000u);
}

TEST(rate_schedule, deadlines_are_absolute_so_there_is_no_drift) {
  // 3 items per second: 1/3 s is not representable in ns, but item 3e6 lands on 1e6 s exactly.
  auto s = rate_schedule::constant(3);
  EXPECT_EQ(s.due(3'000'000), std::chrono::nanoseconds(1'000'000'000'000'000));
}

TEST(rate_schedule, linear_ramp_counts_match_the_integral) {
  // 0 -> 100/s over 10 s: 500 items in all, 125 in the first 5 s.
  auto s = rate_schedule::ramp(0, 100, 10s);
  EXPECT_EQ(s.total(), 500u);
  EXPECT_EQ(s.count_before(5s), 125u);
  EXPECT_FALSE(s.due(500).has_value());
  ASSERT_TRUE(s.due(499).has_value());
  EXPECT_LT(*s.due(499), 10s);
  // Due times increase strictly, and the gaps shrink as the rate rises.
  auto prev = *s.due(1);
  auto prev_gap = prev - *s.due(0);
  for (std::uint64_t k = 2; k < 500; ++k) {
    auto d = *s.due(k);
    auto gap = d - prev;
    EXPECT_GT(gap.count(), 0);
    EXPECT_LE(gap.count(), prev_gap.count() + 1);
    prev = d;
    prev_gap = gap;
  }
}

TEST(rate_schedule, stages_ramp_from_the_previous_target) {
  // k6-style: 0 -> 100 over 2 s (100 items), hold 100 for 1 s (100), 100 -> 0 over 2 s (100).
  auto s = rate_schedule::stages(0, {{2s, 100}, {1s, 100}, {2s, 0}});
  EXPECT_EQ(s.total(), 300u);
  EXPECT_EQ(s.count_before(2s), 100u);
  EXPECT_EQ(s.count_before(3s), 200u);
  EXPECT_NEAR(s.rate_at(2500ms), 100.0, 1e-9);
  EXPECT_NEAR(s.rate_at(4s), 50.0, 1e-9);
  EXPECT_EQ(s.rate_at(6s), 0.0);
}

TEST(rate_schedule, rejects_bad_segments) {
  EXPECT_THROW(rate_schedule::constant(0), std::invalid_argument);
  EXPECT_THROW(rate_schedule::constant(-1), std::invalid_argument);
  EXPECT_THROW(rate_schedule::ramp(1, 2, 0s), std::invalid_argument);
  EXPECT_THROW(rate_schedule::stages(0, {}), std::invalid_argument);
}

TEST(pacer, strided_pacers_together_follow_the_global_schedule) {
  auto s = rate_schedule::constant(7);
  pacer a(s, 0, 3), b(s, 1, 3), c(s, 2, 3);
  for (std::uint64_t k = 0; k < 30; k += 3) {
    EXPECT_EQ(a.take(), s.due(k));
    EXPECT_EQ(b.take(), s.due(k + 1));
    EXPECT_EQ(c.take(), s.due(k + 2));
  }
  EXPECT_EQ(a.next_index(), 30u);
}

// The layout the engine gives its loops when a run is sharded (event_loop.cpp): loop i of shard
// s of N (T loops each) starts at s + N*i with a stride of N*T. Over a finite schedule, the N*T
// pacers take every item exactly once, each shard the items k mod N of its own. (That the engine
// uses this layout the shards' merged totals and durations check: distributed_test.)
TEST(pacer, shards_of_loops_together_take_every_item_once) {
  const auto s = rate_schedule::stages(0, {{1s, 700.0}, {1s, 300.0}});
  constexpr std::uint64_t shards = 3, loops = 2;
  std::vector<int> taken(*s.total() + 1, 0);
  for (std::uint64_t shard = 0; shard < shards; ++shard)
    for (std::uint64_t i = 0; i < loops; ++i) {
      pacer p(s, shard + shards * i, shards * loops);
      EXPECT_EQ(p.stride(), shards * loops);
      for (auto k = p.next_index(); p.take(); k = p.next_index()) {
        ASSERT_LT(k, taken.size());
        EXPECT_EQ(k % shards, shard);
        ++taken[k];
      }
    }
  taken.pop_back();
  for (std::size_t k = 0; k < taken.size(); ++k) EXPECT_EQ(taken[k], 1) << "item " << k;
}

TEST(pacer, ends_with_a_finite_schedule) {
  auto s = rate_schedule::ramp(10, 10, 1s);
  pacer p(s);
  int n = 0;
  while (p.take()) ++n;
  EXPECT_EQ(n, 10);
  EXPECT_FALSE(p.peek().has_value());
}

TEST(rate_schedule, a_rate_too_small_to_schedule_ends_instead_of_overflowing) {
  auto s = rate_schedule::constant(1e-10);
  EXPECT_EQ(s.due(0), std::chrono::nanoseconds(0));
  EXPECT_FALSE(s.due(1).has_value());
}

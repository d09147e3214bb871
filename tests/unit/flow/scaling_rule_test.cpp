#include "hit/flow/scaling_rule.hpp"

#include <gtest/gtest.h>

using hit::flow::scaling_rule;
using namespace std::chrono_literals;

TEST(scaling_rule, a_backlog_starts_one_worker_per_unserved_item_up_to_the_cap) {
  const scaling_rule r{2, 5, 1s};
  EXPECT_EQ(r.to_start(0, 2), 0u) << "idle workers absorb the work";
  EXPECT_EQ(r.to_start(1, 2), 1u);
  EXPECT_EQ(r.to_start(10, 2), 3u) << "up to the cap";
  EXPECT_EQ(r.to_start(10, 5), 0u);
  EXPECT_EQ(r.to_start(10, 7), 0u) << "above the cap (a shrinking cap) starts none";
}

TEST(scaling_rule, idle_workers_retire_after_the_timeout_down_to_the_floor) {
  const scaling_rule r{2, 5, 1s};
  const auto t0 = std::chrono::steady_clock::time_point{} + 10s;
  EXPECT_FALSE(r.retires(t0, t0 + 999ms, 3)) << "not idle long enough";
  EXPECT_TRUE(r.retires(t0, t0 + 1s, 3));
  EXPECT_FALSE(r.retires(t0, t0 + 1h, 2)) << "at the floor";
  EXPECT_TRUE(r.may_retire(3));
  EXPECT_FALSE(r.may_retire(2));
}

TEST(scaling_rule, validity) {
  EXPECT_TRUE((scaling_rule{0, 1, 1s}.valid()));
  EXPECT_TRUE((scaling_rule{3, 3, 1s}.valid()));
  EXPECT_FALSE((scaling_rule{0, 0, 1s}.valid()));
  EXPECT_FALSE((scaling_rule{4, 3, 1s}.valid()));
}

#pragma once
// Tests: two histograms hold the same values, bucket by bucket (what "exactly mergeable" means).

#include <gtest/gtest.h>

#include "hit/stats/histogram.hpp"

namespace hit::test {

inline void expect_same(const stats::histogram& a, const stats::histogram& b) {
  ASSERT_EQ(a.count(), b.count());
  EXPECT_EQ(a.min(), b.min());
  EXPECT_EQ(a.max(), b.max());
  EXPECT_EQ(a.mean(), b.mean());
  EXPECT_EQ(a.clamped(), b.clamped());
  for (std::size_t i = 0; i < stats::histogram::bucket_count; ++i)
    ASSERT_EQ(a.count_at_index(i), b.count_at_index(i)) << "bucket " << i;
}

}  // namespace hit::test

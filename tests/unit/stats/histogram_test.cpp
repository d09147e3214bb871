#include "hit/stats/histogram.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

using hit::stats::histogram;

namespace {

// Nearest-rank percentile of the exact samples: what the histogram approximates.
std::uint64_t exact_percentile(std::vector<std::uint64_t> v, double p) {
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

}  // namespace

TEST(histogram, small_values_are_exact) {
  histogram h;
  for (std::int64_t v = 0; v < 256; ++v) h.record(v);
  EXPECT_EQ(h.count(), 256u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), 255u);
  EXPECT_EQ(h.percentile(50), 127u);
  EXPECT_EQ(h.percentile(100), 255u);
}

TEST(histogram, bucket_bounds_hold_every_value_within_one_percent) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() % histogram::max_trackable;
    const auto idx = histogram::index_of(v);
    ASSERT_LT(idx, histogram::bucket_count);
    const auto lo = histogram::lowest_in_bucket(idx);
    const auto hi = histogram::highest_in_bucket(idx);
    ASSERT_LE(lo, v);
    ASSERT_GE(hi, v);
    ASSERT_LE(static_cast<double>(hi - lo), 0.01 * static_cast<double>(v) + 1);
  }
  EXPECT_EQ(histogram::index_of(histogram::max_trackable), histogram::bucket_count - 1);
}

TEST(histogram, percentiles_match_exact_ones_within_one_percent) {
  // Log-normal latencies from ~50us to ~1s, like a real service with a tail.
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(std::log(2e6), 1.2);
  std::vector<std::uint64_t> samples;
  histogram h;
  for (int i = 0; i < 200000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    samples.push_back(v);
    h.record(static_cast<std::int64_t>(v));
  }
  for (double p : {1.0, 10.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99}) {
    const auto exact = static_cast<double>(exact_percentile(samples, p));
    const auto approx = static_cast<double>(h.percentile(p));
    EXPECT_NEAR(approx, exact, exact * 0.01) << "p" << p;
  }
  EXPECT_EQ(h.min(), *std::min_element(samples.begin(), samples.end()));
  EXPECT_EQ(h.max(), *std::max_element(samples.begin(), samples.end()));
  double sum = 0;
  for (auto v : samples) sum += static_cast<double>(v);
  EXPECT_NEAR(h.mean(), sum / static_cast<double>(samples.size()), 1.0);
}

TEST(histogram, merge_equals_recording_everything_in_one) {
  std::mt19937_64 rng(1);
  histogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<std::int64_t>(rng() % 5'000'000'000ULL);
    (i % 3 == 0 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.min(), all.min());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_DOUBLE_EQ(a.mean(), all.mean());
  for (std::size_t i = 0; i < histogram::bucket_count; ++i)
    ASSERT_EQ(a.count_at_index(i), all.count_at_index(i)) << i;
  for (double p : {50.0, 99.0, 99.99}) EXPECT_EQ(a.percentile(p), all.percentile(p));
}

TEST(histogram, clamps_out_of_range_values_and_counts_them) {
  histogram h;
  h.record(-5);
  h.record(static_cast<std::int64_t>(histogram::max_trackable) * 4);
  EXPECT_EQ(h.count(), 2u);
  EXPECT_EQ(h.clamped(), 1u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.max(), histogram::max_trackable);
}

TEST(histogram, empty_reports_zeroes) {
  histogram h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(99), 0u);
  EXPECT_EQ(h.min(), 0u);
  EXPECT_EQ(h.mean(), 0.0);
}

// The coarse histogram of per-target breakdowns: the same design at 16 buckets per power of
// two, ~5 KiB, a bucket within 1/16 of its values and a percentile within 3.2%.
TEST(coarse_histogram, percentiles_within_its_precision_in_a_seventh_of_the_memory) {
  using hit::stats::coarse_histogram;
  EXPECT_LT(sizeof(coarse_histogram) * 7, sizeof(histogram));
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    const std::uint64_t v = rng() % coarse_histogram::max_trackable;
    const auto idx = coarse_histogram::index_of(v);
    ASSERT_LT(idx, coarse_histogram::bucket_count);
    ASSERT_LE(coarse_histogram::lowest_in_bucket(idx), v);
    ASSERT_GE(coarse_histogram::highest_in_bucket(idx), v);
    ASSERT_LE(static_cast<double>(coarse_histogram::highest_in_bucket(idx) -
                                  coarse_histogram::lowest_in_bucket(idx)),
              static_cast<double>(v) / 16.0 + 1);
  }
  std::lognormal_distribution<double> dist(std::log(2e6), 1.2);
  std::vector<std::uint64_t> samples;
  coarse_histogram a, b;
  for (int i = 0; i < 100000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    samples.push_back(v);
    (i % 2 ? a : b).record(static_cast<std::int64_t>(v));
  }
  a.merge(b);
  EXPECT_EQ(a.count(), samples.size());
  for (double p : {10.0, 50.0, 90.0, 99.0, 99.9}) {
    const auto exact = static_cast<double>(exact_percentile(samples, p));
    EXPECT_NEAR(static_cast<double>(a.percentile(p)), exact, exact * 0.032) << "p" << p;
  }
  EXPECT_EQ(a.max(), *std::max_element(samples.begin(), samples.end()));
}

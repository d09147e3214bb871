#pragma once
// histogram: a fixed-memory, exactly mergeable log-linear histogram of durations (HdrHistogram's
// design). Values are nanoseconds. Values below 256 ns are kept exactly; above, each power-of-two
// range is split into 128 equal buckets, so any recorded value is known to within 1/128 (0.78%) of
// itself, and a reported percentile (the bucket's midpoint) to within 0.4%. Values above the
// trackable maximum (~36 minutes) are clamped and counted in `clamped()`.
//
// Memory is fixed (~35 KiB) whatever is recorded: recording never allocates.
//
// Thread safety: none. A histogram belongs to one thread; give each thread its own and merge()
// them after join (HdrHistogram's "Do NOT mix calls" rule, made structural).

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>

namespace hit::stats {

// basic_histogram<SubBucketBits>: 2^SubBucketBits buckets per power of two. `histogram` (7: the
// precision above, ~35 KiB) is the run's; `coarse_histogram` (4: 16 buckets per power of two, a
// value known to within 1/16, a percentile to within 3%, ~5 KiB) is for breakdowns kept many
// times over, such as one per target of a targets file.
template <int SubBucketBits>
class basic_histogram {
 public:
  static constexpr int sub_bucket_bits = SubBucketBits;
  static constexpr int max_value_bits = 41;  // 2^41 ns ~ 36.6 minutes
  static constexpr std::uint64_t max_trackable = (std::uint64_t{1} << max_value_bits) - 1;
  static constexpr std::size_t bucket_count =
      (std::size_t{2} << sub_bucket_bits) +
      (max_value_bits - sub_bucket_bits - 1) * (std::size_t{1} << sub_bucket_bits);

  // Adds one value. Negative values count as 0; values above max_trackable are clamped.
  void record(std::int64_t ns) noexcept {
    const std::uint64_t v = ns < 0 ? 0 : static_cast<std::uint64_t>(ns);
    const std::uint64_t c = v > max_trackable ? max_trackable : v;
    clamped_ += v != c;
    ++counts_[index_of(c)];
    ++total_;
    sum_ += c;
    if (c < min_) min_ = c;
    if (c > max_) max_ = c;
  }
  void record(std::chrono::nanoseconds d) noexcept { record(d.count()); }

  // Adds every value of `other` as if recorded here: merge(a, b) == record-all of both.
  void merge(const basic_histogram& other) noexcept;

  [[nodiscard]] std::uint64_t count() const noexcept { return total_; }
  [[nodiscard]] std::uint64_t clamped() const noexcept { return clamped_; }
  [[nodiscard]] std::uint64_t min() const noexcept { return total_ ? min_ : 0; }
  [[nodiscard]] std::uint64_t max() const noexcept { return max_; }
  [[nodiscard]] double mean() const noexcept {
    return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0;
  }
  // The value at or below which `p` percent of recorded values fall (p in [0, 100]); 0 when empty.
  // Exact for min and max; within the bucket precision elsewhere.
  [[nodiscard]] std::uint64_t percentile(double p) const noexcept;

  // Iteration over non-empty buckets, for printing distributions.
  [[nodiscard]] std::uint64_t count_at_index(std::size_t i) const noexcept { return counts_[i]; }
  static std::uint64_t lowest_in_bucket(std::size_t i) noexcept;
  static std::uint64_t highest_in_bucket(std::size_t i) noexcept;

  // What a sparse copy (sparse_histogram) or a results file keeps beside the bucket counts.
  struct totals {
    std::uint64_t count = 0, sum = 0, min = 0, max = 0, clamped = 0;
  };
  [[nodiscard]] totals summary_totals() const noexcept {
    return {total_, sum_, min(), max_, clamped_};
  }
  // Rebuilds a histogram from its non-empty buckets and totals, as read back from a file:
  // `counts(i)` gives bucket i's count. Returns nullopt when they do not agree (the buckets'
  // sum is not `t.count`, min above max, a min or max outside the non-empty buckets' range): a
  // corrupt record, never a histogram that would report wrong percentiles.
  template <typename Buckets>
  static std::optional<basic_histogram> restore(const Buckets& buckets, const totals& t);

  static std::size_t index_of(std::uint64_t v) noexcept {
    constexpr std::uint64_t exact_limit = std::uint64_t{2} << sub_bucket_bits;  // 256
    if (v < exact_limit) return static_cast<std::size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - sub_bucket_bits;
    const std::uint64_t sub = (v >> shift) - (std::uint64_t{1} << sub_bucket_bits);
    return static_cast<std::size_t>(exact_limit) +
           static_cast<std::size_t>(shift - 1) * (std::size_t{1} << sub_bucket_bits) +
           static_cast<std::size_t>(sub);
  }

 private:
  friend class sparse_histogram;  // takes the buckets out without a 35 KiB copy
  std::array<std::uint64_t, bucket_count> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t clamped_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t min_ = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t max_ = 0;
};

using histogram = basic_histogram<7>;  // <= 0.78% error
using coarse_histogram = basic_histogram<4>;
// (Defined in histogram.cpp for these two.)
extern template class basic_histogram<7>;
extern template class basic_histogram<4>;

// `buckets`: a range of (index, count) pairs, indices ascending and below bucket_count.
template <int B>
template <typename Buckets>
std::optional<basic_histogram<B>> basic_histogram<B>::restore(const Buckets& buckets,
                                                              const totals& t) {
  basic_histogram h;
  std::uint64_t n = 0;
  std::size_t last = 0;
  bool first = true;
  std::size_t lo_index = bucket_count, hi_index = 0;
  for (const auto& [index, count] : buckets) {
    const auto i = static_cast<std::size_t>(index);
    if (i >= bucket_count || (!first && i <= last) || count == 0) return std::nullopt;
    first = false;
    last = i;
    h.counts_[i] = count;
    if (n + count < n) return std::nullopt;
    n += count;
    lo_index = std::min(lo_index, i);
    hi_index = std::max(hi_index, i);
  }
  if (n != t.count || t.clamped > t.count) return std::nullopt;
  if (n > 0 && (t.min > t.max || t.max > max_trackable || index_of(t.min) != lo_index ||
                index_of(t.max) != hi_index))
    return std::nullopt;
  h.total_ = n;
  h.sum_ = t.sum;
  h.clamped_ = t.clamped;
  if (n > 0) {
    h.min_ = t.min;
    h.max_ = t.max;
  }
  return h;
}

}  // namespace hit::stats

#include "hit/stats/histogram.hpp"

#include <algorithm>
#include <cmath>

namespace hit::stats {

template <int B>
void basic_histogram<B>::merge(const basic_histogram& other) noexcept {
  for (std::size_t i = 0; i < bucket_count; ++i) counts_[i] += other.counts_[i];
  total_ += other.total_;
  clamped_ += other.clamped_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

template <int B>
std::uint64_t basic_histogram<B>::lowest_in_bucket(std::size_t i) noexcept {
  constexpr std::size_t exact_limit = std::size_t{2} << sub_bucket_bits;
  if (i < exact_limit) return i;
  const std::size_t half = std::size_t{1} << sub_bucket_bits;
  const std::size_t shift = (i - exact_limit) / half + 1;
  const std::size_t sub = (i - exact_limit) % half + half;
  return static_cast<std::uint64_t>(sub) << shift;
}

template <int B>
std::uint64_t basic_histogram<B>::highest_in_bucket(std::size_t i) noexcept {
  constexpr std::size_t exact_limit = std::size_t{2} << sub_bucket_bits;
  if (i < exact_limit) return i;
  const std::size_t shift = (i - exact_limit) / (std::size_t{1} << sub_bucket_bits) + 1;
  return lowest_in_bucket(i) + (std::uint64_t{1} << shift) - 1;
}

template <int B>
std::uint64_t basic_histogram<B>::percentile(double p) const noexcept {
  if (total_ == 0) return 0;
  if (p <= 0) return min_;
  if (p >= 100) return max_;
  // The smallest value v such that at least p% of the values are <= v (nearest-rank).
  auto rank = static_cast<std::uint64_t>(std::ceil(p / 100.0 * static_cast<double>(total_)));
  rank = std::clamp<std::uint64_t>(rank, 1, total_);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < bucket_count; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const std::uint64_t lo = lowest_in_bucket(i);
      const std::uint64_t mid = lo + (highest_in_bucket(i) - lo) / 2;
      return std::clamp(mid, min_, max_);
    }
  }
  return max_;
}

template class basic_histogram<7>;
template class basic_histogram<4>;

}  // namespace hit::stats

#pragma once
// timeline: what completed in each interval of a run (1 s by default): requests, errors by
// kind, status classes, bytes, and the interval's latencies as a sparse histogram, so that
// percentiles over time stay exact after a merge (of threads, or of shards' results files).
//
// Recording: the owner calls advance(t) with the time since the run's start whenever it has the
// clock at hand (each response, each sweep of its loop); responses and errors go into the
// interval current at the last advance. Closing an interval (once per interval, not per
// request) turns its dense histogram into a sparse one: a few hundred buckets of 8 bytes rather
// than 35 KiB. Memory is bounded: past `budget` buckets kept, neighbouring intervals are merged
// pairwise (the width doubles, `coarsened()` says so), so an hour-long run stays within the
// budget (docs/results.md).
//
// Thread safety: none. One owner thread records; merge() after join.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "hit/stats/error_kind.hpp"
#include "hit/stats/histogram.hpp"
#include "hit/stats/status_class.hpp"

namespace hit::stats {

// A histogram's non-empty buckets (index << 48 | count, ascending) and its totals.
class sparse_histogram {
 public:
  sparse_histogram() = default;
  // Copies `h`'s non-empty buckets.
  explicit sparse_histogram(const histogram& h);
  // Moves `h`'s buckets here and leaves `h` empty: scans it once, zeroing only what was set.
  static sparse_histogram take(histogram& h);

  // Adds every value of `other`: the merge of two sparse histograms is the sparse histogram of
  // the merge of the two dense ones.
  void merge(const sparse_histogram& other);
  // The dense histogram these buckets came from (for percentiles, or merging into one).
  [[nodiscard]] histogram dense() const;
  void add_to(histogram& h) const;

  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  [[nodiscard]] std::size_t index(std::size_t k) const noexcept {
    return static_cast<std::size_t>(entries_[k] >> count_bits);
  }
  [[nodiscard]] std::uint64_t count(std::size_t k) const noexcept {
    return entries_[k] & count_mask;
  }
  [[nodiscard]] const histogram::totals& totals() const noexcept { return totals_; }

  // From a file: (index, count) pairs ascending and totals; nullopt when they disagree (see
  // histogram::restore) or a count does not fit the 48 bits an entry keeps.
  template <typename Buckets>
  static std::optional<sparse_histogram> restore(const Buckets& buckets,
                                                 const histogram::totals& t);

 private:
  static constexpr int count_bits = 48;
  static constexpr std::uint64_t count_mask = (std::uint64_t{1} << count_bits) - 1;
  std::vector<std::uint64_t> entries_;
  histogram::totals totals_;
};

// What completed in one interval: [index * width, (index + 1) * width) after the run's start.
struct interval_record {
  std::uint64_t index = 0;
  std::uint64_t requests = 0;  // responses + errors
  std::uint64_t successes = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes = 0;
  std::array<std::uint64_t, status_class_count> status_classes{};  // see status_class()
  std::array<std::uint64_t, error_kind_count> error_counts{};
  sparse_histogram latency;  // from intended start, as the summary's `latency`

  void merge(const interval_record& other);
};

class timeline {
 public:
  // Budget of kept buckets (8 bytes each) by default: 16 MiB per timeline. An interval's own
  // record (its counters and its vector) costs as much as `record_cost` buckets, so that many
  // short intervals with few latencies (or none: every request failed) are bounded too.
  static constexpr std::size_t default_budget = std::size_t{2} << 20;
  static constexpr std::size_t record_cost = 32;

  timeline() = default;  // off: records nothing
  timeline(const timeline& other);
  timeline& operator=(const timeline& other);
  timeline(timeline&&) noexcept = default;
  timeline& operator=(timeline&&) noexcept = default;
  ~timeline() = default;

  // Records intervals of `width` from now on (width > 0), keeping at most `budget` buckets.
  void enable(std::chrono::nanoseconds width, std::size_t budget = default_budget);
  [[nodiscard]] bool enabled() const noexcept { return width_.count() > 0; }

  // The clock: `since_start` is the time since the run's start. Closes the current interval
  // when the time is past it. Cheap when it is not (one comparison).
  void advance(std::chrono::nanoseconds since_start) noexcept {
    if (since_start >= next_) roll(since_start);
  }
  void record_response(unsigned status, std::uint64_t bytes,
                       std::chrono::nanoseconds latency) noexcept {
    if (!current_) return;
    ++current_counts_.requests;
    ++current_counts_.status_classes[status_class(status)];
    if (status >= 200 && status < 400) ++current_counts_.successes;
    current_counts_.bytes += bytes;
    current_->record(latency);
  }
  void record_error(error_kind k) noexcept {
    if (!current_) return;
    ++current_counts_.requests;
    ++current_counts_.errors;
    ++current_counts_.error_counts[static_cast<std::size_t>(k)];
  }
  // Closes the current interval: call when the run has ended, before reading intervals().
  void finish();

  // Takes the closed intervals out (a live display drains them as the run goes, so they never
  // add up to a coarsening).
  std::vector<interval_record> take_intervals();
  // The index of the interval being recorded: every interval before it is closed.
  [[nodiscard]] std::uint64_t current_index() const noexcept { return current_counts_.index; }

  // Closed intervals, ascending by index; intervals where nothing completed are left out.
  [[nodiscard]] const std::vector<interval_record>& intervals() const noexcept { return done_; }
  [[nodiscard]] std::chrono::nanoseconds width() const noexcept { return width_; }
  // How many times neighbouring intervals were merged to keep within the budget (the width is
  // the first width times 2^coarsened()).
  [[nodiscard]] unsigned coarsened() const noexcept { return coarsened_; }
  // What the budget counts: the buckets kept, and record_cost per interval.
  [[nodiscard]] std::size_t buckets_kept() const noexcept { return kept_; }
  // Where the last interval ends, when not at the run's end: a merge of shards whose intervals
  // moved by a rounded offset (see results_file's merge_results). Readers cut the last interval
  // there.
  [[nodiscard]] std::optional<std::chrono::nanoseconds> end() const noexcept { return end_; }
  void set_end(std::chrono::nanoseconds end) noexcept { end_ = end; }

  // Adds `other`'s intervals to those of the same index. The widths must be equal or one a
  // power-of-two multiple of the other (both coarsened from the same width): the finer is
  // coarsened first. Both finished. Returns false (and changes nothing) when they do not align.
  bool merge(const timeline& other);
  // Whether merge(a, b) can succeed: either is off, or their widths are equal or one a
  // power-of-two multiple of the other.
  static bool aligns(const timeline& a, const timeline& b) noexcept;
  // Merges neighbouring intervals until the width is `width` (a power-of-two multiple of the
  // current width); false when it is not. Not counted in coarsened(): that says the budget did.
  bool coarsen_to(std::chrono::nanoseconds width);
  // Moves every interval `by` intervals later (aligning a shard that started later).
  void shift(std::uint64_t by);

  // For files: a finished timeline from its parts (see results_file). False when the records
  // are not ascending.
  static std::optional<timeline> restore(std::chrono::nanoseconds width, unsigned coarsened,
                                         std::vector<interval_record> intervals);

 private:
  void roll(std::chrono::nanoseconds since_start);
  void close_current();
  void push(interval_record&& r);
  void coarsen_once();

  std::chrono::nanoseconds width_{0};
  std::chrono::nanoseconds next_ = std::chrono::nanoseconds::max();  // end of the current interval
  std::size_t budget_ = default_budget;
  std::size_t kept_ = 0;  // buckets in done_
  unsigned coarsened_ = 0;
  interval_record current_counts_;      // counters of the current interval (latency unused)
  std::unique_ptr<histogram> current_;  // its latencies, dense while it is open
  std::vector<interval_record> done_;
  std::optional<std::chrono::nanoseconds> end_;
};

template <typename Buckets>
std::optional<sparse_histogram> sparse_histogram::restore(const Buckets& buckets,
                                                          const histogram::totals& t) {
  // Validate through the dense form: one rule for what a consistent histogram is.
  const auto h = histogram::restore(buckets, t);
  if (!h) return std::nullopt;
  for (const auto& [index, count] : buckets)
    if (count > count_mask) return std::nullopt;
  return sparse_histogram(*h);
}

}  // namespace hit::stats

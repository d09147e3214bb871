#include "hit/stats/timeline.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace hit::stats {

sparse_histogram::sparse_histogram(const histogram& h) : totals_(h.summary_totals()) {
  for (std::size_t i = 0; i < histogram::bucket_count; ++i)
    if (const auto c = h.counts_[i]; c != 0)
      entries_.push_back(static_cast<std::uint64_t>(i) << count_bits | (c & count_mask));
}

sparse_histogram sparse_histogram::take(histogram& h) {
  sparse_histogram s;
  s.totals_ = h.summary_totals();
  if (h.total_ == 0) return s;
  for (std::size_t i = 0; i < histogram::bucket_count; ++i) {
    if (const auto c = h.counts_[i]; c != 0) {
      s.entries_.push_back(static_cast<std::uint64_t>(i) << count_bits | (c & count_mask));
      h.counts_[i] = 0;
    }
  }
  h.total_ = h.sum_ = h.clamped_ = h.max_ = 0;
  h.min_ = std::numeric_limits<std::uint64_t>::max();
  return s;
}

void sparse_histogram::merge(const sparse_histogram& other) {
  if (other.totals_.count == 0) return;
  if (totals_.count == 0) {
    *this = other;
    return;
  }
  std::vector<std::uint64_t> out;
  out.reserve(entries_.size() + other.entries_.size());
  std::size_t a = 0, b = 0;
  while (a < entries_.size() || b < other.entries_.size()) {
    if (b == other.entries_.size() || (a < entries_.size() && index(a) < other.index(b))) {
      out.push_back(entries_[a++]);
    } else if (a == entries_.size() || other.index(b) < index(a)) {
      out.push_back(other.entries_[b++]);
    } else {
      out.push_back(entries_[a++] + other.count(b++));  // same index: counts add
    }
  }
  entries_ = std::move(out);
  totals_.min = std::min(totals_.min, other.totals_.min);
  totals_.max = std::max(totals_.max, other.totals_.max);
  totals_.count += other.totals_.count;
  totals_.sum += other.totals_.sum;
  totals_.clamped += other.totals_.clamped;
}

void sparse_histogram::add_to(histogram& h) const {
  if (totals_.count == 0) return;
  for (std::size_t k = 0; k < entries_.size(); ++k) h.counts_[index(k)] += count(k);
  h.min_ = h.total_ ? std::min(h.min_, totals_.min) : totals_.min;
  h.max_ = std::max(h.max_, totals_.max);
  h.total_ += totals_.count;
  h.sum_ += totals_.sum;
  h.clamped_ += totals_.clamped;
}

histogram sparse_histogram::dense() const {
  histogram h;
  add_to(h);
  return h;
}

void interval_record::merge(const interval_record& o) {
  requests += o.requests;
  successes += o.successes;
  errors += o.errors;
  bytes += o.bytes;
  for (std::size_t i = 0; i < status_classes.size(); ++i) status_classes[i] += o.status_classes[i];
  for (std::size_t i = 0; i < error_counts.size(); ++i) error_counts[i] += o.error_counts[i];
  latency.merge(o.latency);
}

timeline::timeline(const timeline& o)
    : width_(o.width_),
      next_(o.next_),
      budget_(o.budget_),
      kept_(o.kept_),
      coarsened_(o.coarsened_),
      current_counts_(o.current_counts_),
      current_(o.current_ ? std::make_unique<histogram>(*o.current_) : nullptr),
      done_(o.done_),
      end_(o.end_) {}

timeline& timeline::operator=(const timeline& o) {
  if (this != &o) *this = timeline(o);
  return *this;
}

void timeline::enable(std::chrono::nanoseconds width, std::size_t budget) {
  width_ = width;
  budget_ = std::max<std::size_t>(budget, 1);
  current_counts_ = {};
  current_counts_.index = 0;
  next_ = width;
  current_ = std::make_unique<histogram>();
}

void timeline::roll(std::chrono::nanoseconds since_start) {
  if (!current_) return;
  close_current();
  const auto index = static_cast<std::uint64_t>(since_start / width_);
  current_counts_.index = index;
  next_ = width_ * static_cast<std::int64_t>(index + 1);
}

void timeline::close_current() {
  if (current_counts_.requests == 0) return;  // nothing completed: kept as a gap
  interval_record r = current_counts_;
  r.latency = sparse_histogram::take(*current_);
  const auto index = r.index;
  current_counts_ = {};
  current_counts_.index = index;
  push(std::move(r));
}

void timeline::push(interval_record&& r) {
  // The record's index is in the first width's units until coarsening shifts it (see
  // coarsen_once, which also moves the current interval's index and end).
  kept_ += r.latency.size() + record_cost;
  if (!done_.empty() && done_.back().index == r.index) {
    kept_ -= done_.back().latency.size() + r.latency.size() + record_cost;
    done_.back().merge(r);
    kept_ += done_.back().latency.size();
  } else {
    done_.push_back(std::move(r));
  }
  while (kept_ > budget_ && done_.size() > 1) coarsen_once();
}

void timeline::coarsen_once() {
  std::vector<interval_record> out;
  out.reserve(done_.size() / 2 + 1);
  kept_ = 0;
  for (auto& r : done_) {
    r.index /= 2;
    if (!out.empty() && out.back().index == r.index) {
      out.back().merge(r);
    } else {
      out.push_back(std::move(r));
    }
  }
  for (const auto& r : out) kept_ += r.latency.size() + record_cost;
  done_ = std::move(out);
  width_ *= 2;
  ++coarsened_;
  if (current_) {
    current_counts_.index /= 2;
    next_ = width_ * static_cast<std::int64_t>(current_counts_.index + 1);
  }
}

std::vector<interval_record> timeline::take_intervals() {
  kept_ = 0;
  return std::exchange(done_, {});
}

void timeline::finish() {
  if (!current_) return;
  close_current();
  current_.reset();
  next_ = std::chrono::nanoseconds::max();
}

bool timeline::coarsen_to(std::chrono::nanoseconds width) {
  if (width_.count() <= 0 || width < width_ || (width % width_).count() != 0) return false;
  const auto factor = static_cast<std::uint64_t>(width / width_);
  if (!std::has_single_bit(factor)) return false;
  const auto by_budget = coarsened_;
  while (width_ < width) coarsen_once();
  coarsened_ = by_budget;
  return true;
}

bool timeline::aligns(const timeline& a, const timeline& b) noexcept {
  if (!a.enabled() || !b.enabled()) return true;
  const auto lo = std::min(a.width_, b.width_), hi = std::max(a.width_, b.width_);
  return (hi % lo).count() == 0 && std::has_single_bit(static_cast<std::uint64_t>(hi / lo));
}

bool timeline::merge(const timeline& other) {
  if (!other.enabled()) return true;
  if (!enabled()) {
    *this = other;
    return true;
  }
  timeline b = other;
  if (b.width_ > width_) {
    if (!coarsen_to(b.width_)) return false;
  } else if (b.width_ < width_) {
    if (!b.coarsen_to(width_)) return false;
  }
  std::vector<interval_record> out;
  out.reserve(done_.size() + b.done_.size());
  std::size_t i = 0, j = 0;
  while (i < done_.size() || j < b.done_.size()) {
    if (j == b.done_.size() || (i < done_.size() && done_[i].index < b.done_[j].index)) {
      out.push_back(std::move(done_[i++]));
    } else if (i == done_.size() || b.done_[j].index < done_[i].index) {
      out.push_back(std::move(b.done_[j++]));
    } else {
      done_[i].merge(b.done_[j++]);
      out.push_back(std::move(done_[i++]));
    }
  }
  done_ = std::move(out);
  kept_ = 0;
  for (const auto& r : done_) kept_ += r.latency.size() + record_cost;
  coarsened_ = std::max(coarsened_, b.coarsened_);
  return true;
}

void timeline::shift(std::uint64_t by) {
  for (auto& r : done_) r.index += by;
}

std::optional<timeline> timeline::restore(std::chrono::nanoseconds width, unsigned coarsened,
                                          std::vector<interval_record> intervals) {
  if (width.count() <= 0) return std::nullopt;
  for (std::size_t i = 1; i < intervals.size(); ++i)
    if (intervals[i].index <= intervals[i - 1].index) return std::nullopt;
  timeline t;
  t.width_ = width;
  t.coarsened_ = coarsened;
  t.done_ = std::move(intervals);
  for (const auto& r : t.done_) t.kept_ += r.latency.size() + record_cost;
  return t;
}

}  // namespace hit::stats

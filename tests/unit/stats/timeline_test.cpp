#include "hit/stats/timeline.hpp"

#include <gtest/gtest.h>

#include <random>
#include <utility>
#include <vector>

#include "hit/stats/summary.hpp"
#include "same_histogram.hpp"

using namespace std::chrono_literals;
using hit::stats::error_kind;
using hit::stats::histogram;
using hit::stats::sparse_histogram;
using hit::stats::summary;
using hit::stats::timeline;

using hit::test::expect_same;

namespace {

struct event {
  std::chrono::nanoseconds at;
  unsigned status;  // 0: an error
  std::chrono::nanoseconds latency;
};

std::vector<event> random_events(unsigned seed, int n, std::chrono::nanoseconds span) {
  std::mt19937_64 rng(seed);
  std::vector<event> v;
  std::chrono::nanoseconds at{0};
  const auto step = span / n;
  for (int i = 0; i < n; ++i) {
    at += std::chrono::nanoseconds(
        static_cast<std::int64_t>(rng() % static_cast<std::uint64_t>(2 * step.count() + 1)));
    const unsigned statuses[] = {200, 200, 200, 204, 301, 404, 503, 0};
    const auto latency =
        std::chrono::nanoseconds(1000 + static_cast<std::int64_t>(rng() % 50'000'000));
    v.push_back({at, statuses[rng() % 8], latency});
  }
  return v;
}

void play(summary& s, const std::vector<event>& events) {
  for (const auto& e : events) {
    s.timeline.advance(e.at);
    if (e.status == 0) {
      s.record_error(error_kind::timeout);
    } else {
      s.record_response(e.status, 100, e.latency, e.latency);
    }
  }
  s.timeline.finish();
}

}  // namespace

TEST(sparse_histogram, take_empties_the_dense_one_and_keeps_every_value) {
  histogram h, copy;
  for (std::int64_t v : {5, 300, 300, 70'000, 9'000'000}) {
    h.record(v);
    copy.record(v);
  }
  const auto s = sparse_histogram::take(h);
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.percentile(50), 0u);
  EXPECT_EQ(s.size(), 4u);  // the two 300s share a bucket
  expect_same(s.dense(), copy);
  h.record(42);  // still usable after take
  EXPECT_EQ(h.min(), 42u);
  EXPECT_EQ(h.max(), 42u);
}

TEST(sparse_histogram, merge_equals_the_histogram_of_all_values) {
  std::mt19937_64 rng(3);
  histogram a, b, all;
  for (int i = 0; i < 20000; ++i) {
    const auto v = static_cast<std::int64_t>(rng() % 100'000'000);
    (i % 3 ? a : b).record(v);
    all.record(v);
  }
  sparse_histogram sa(a);
  sa.merge(sparse_histogram(b));
  expect_same(sa.dense(), all);
}

TEST(sparse_histogram, restore_refuses_inconsistent_buckets) {
  histogram h;
  h.record(1000);
  h.record(2000);
  const auto t = h.summary_totals();
  const auto i1 = histogram::index_of(1000), i2 = histogram::index_of(2000);
  using pairs = std::vector<std::pair<std::size_t, std::uint64_t>>;
  ASSERT_TRUE(sparse_histogram::restore(pairs{{i1, 1}, {i2, 1}}, t));
  expect_same(sparse_histogram::restore(pairs{{i1, 1}, {i2, 1}}, t)->dense(), h);
  EXPECT_FALSE(sparse_histogram::restore(pairs{{i1, 1}, {i2, 2}}, t));  // counts != total
  EXPECT_FALSE(sparse_histogram::restore(pairs{{i2, 1}, {i1, 1}}, t));  // not ascending
  EXPECT_FALSE(sparse_histogram::restore(pairs{{i1, 2}}, t));           // max outside buckets
  EXPECT_FALSE(sparse_histogram::restore(pairs{{i1, 1}, {histogram::bucket_count, 1}}, t));
  auto bad = t;
  bad.min = 5000;  // min above max
  EXPECT_FALSE(sparse_histogram::restore(pairs{{i1, 1}, {i2, 1}}, bad));
}

TEST(timeline, off_by_default_records_nothing) {
  summary s;
  s.timeline.advance(5s);
  s.record_response(200, 1, 1ms, 1ms);
  s.timeline.finish();
  EXPECT_FALSE(s.timeline.enabled());
  EXPECT_TRUE(s.timeline.intervals().empty());
}

TEST(timeline, puts_each_completion_in_its_interval) {
  summary s;
  s.timeline.enable(1s);
  s.timeline.advance(100ms);
  s.record_response(200, 10, 2ms, 2ms);
  s.record_response(503, 10, 4ms, 4ms);
  s.timeline.advance(2500ms);  // interval 1 has nothing
  s.record_error(error_kind::reset);
  s.record_response(404, 7, 8ms, 8ms);
  s.timeline.finish();
  const auto& iv = s.timeline.intervals();
  ASSERT_EQ(iv.size(), 2u);
  EXPECT_EQ(iv[0].index, 0u);
  EXPECT_EQ(iv[0].requests, 2u);
  EXPECT_EQ(iv[0].successes, 1u);
  EXPECT_EQ(iv[0].status_classes[2], 1u);
  EXPECT_EQ(iv[0].status_classes[5], 1u);
  EXPECT_EQ(iv[0].bytes, 20u);
  EXPECT_EQ(iv[0].latency.totals().max, 4'000'000u);
  EXPECT_EQ(iv[1].index, 2u);
  EXPECT_EQ(iv[1].requests, 2u);
  EXPECT_EQ(iv[1].errors, 1u);
  EXPECT_EQ(iv[1].error_counts[static_cast<std::size_t>(error_kind::reset)], 1u);
  EXPECT_EQ(iv[1].status_classes[4], 1u);
  EXPECT_EQ(iv[1].latency.totals().count, 1u);  // errors have no latency
}

// The property results files rely on: the timelines of parts, merged, equal the timeline of all
// the events recorded in one; and the intervals together equal the run's summary.
TEST(timeline, merged_parts_equal_the_whole_interval_by_interval) {
  const auto events = random_events(11, 30000, 20s);
  summary whole, a, b, c;
  whole.timeline.enable(1s);
  for (auto* p : {&a, &b, &c}) p->timeline.enable(1s);
  std::vector<event> ea, eb, ec;
  for (std::size_t i = 0; i < events.size(); ++i)
    (i % 3 == 0 ? ea : i % 3 == 1 ? eb : ec).push_back(events[i]);
  play(whole, events);
  play(a, ea);
  play(b, eb);
  play(c, ec);
  summary merged;
  merged.merge(a);
  merged.merge(b);
  merged.merge(c);
  const auto& w = whole.timeline.intervals();
  const auto& m = merged.timeline.intervals();
  ASSERT_EQ(w.size(), m.size());
  ASSERT_GE(w.size(), 15u);
  histogram from_intervals;
  std::uint64_t requests = 0;
  for (std::size_t i = 0; i < w.size(); ++i) {
    EXPECT_EQ(w[i].index, m[i].index);
    EXPECT_EQ(w[i].requests, m[i].requests);
    EXPECT_EQ(w[i].errors, m[i].errors);
    EXPECT_EQ(w[i].status_classes, m[i].status_classes);
    EXPECT_EQ(w[i].error_counts, m[i].error_counts);
    EXPECT_EQ(w[i].bytes, m[i].bytes);
    expect_same(w[i].latency.dense(), m[i].latency.dense());
    m[i].latency.add_to(from_intervals);
    requests += m[i].requests;
  }
  EXPECT_EQ(requests, whole.requests);
  expect_same(from_intervals, whole.latency);
}

TEST(timeline, coarsens_to_stay_within_its_budget_and_loses_no_count) {
  const auto events = random_events(5, 40000, 64s);
  summary fine, coarse;
  fine.timeline.enable(1s);
  coarse.timeline.enable(1s, 5000);  // far fewer buckets than 64 intervals need
  play(fine, events);
  play(coarse, events);
  EXPECT_EQ(fine.timeline.coarsened(), 0u);
  ASSERT_GT(coarse.timeline.coarsened(), 0u);
  EXPECT_LE(coarse.timeline.buckets_kept(), 5000u);
  EXPECT_EQ(coarse.timeline.width(), 1s * (1 << coarse.timeline.coarsened()));
  // The fine timeline coarsened the same way afterwards is the same timeline.
  ASSERT_TRUE(fine.timeline.coarsen_to(coarse.timeline.width()));
  const auto& f = fine.timeline.intervals();
  const auto& c = coarse.timeline.intervals();
  ASSERT_EQ(f.size(), c.size());
  for (std::size_t i = 0; i < f.size(); ++i) {
    EXPECT_EQ(f[i].index, c[i].index);
    EXPECT_EQ(f[i].requests, c[i].requests);
    expect_same(f[i].latency.dense(), c[i].latency.dense());
  }
}

TEST(timeline, merge_coarsens_the_finer_and_refuses_widths_that_do_not_align) {
  timeline a, b, odd;
  a.enable(1s);
  b.enable(4s);
  odd.enable(1500ms);
  a.advance(0s);
  a.record_response(200, 1, 1ms);
  a.advance(5s);
  a.record_response(200, 1, 1ms);
  a.finish();
  b.advance(0s);
  b.record_response(200, 1, 3ms);
  b.finish();
  odd.record_response(200, 1, 1ms);
  odd.finish();
  timeline m = a;
  ASSERT_TRUE(m.merge(b));
  EXPECT_EQ(m.width(), 4s);
  ASSERT_EQ(m.intervals().size(), 2u);
  EXPECT_EQ(m.intervals()[0].requests, 2u);  // a's [0s,1s) and b's [0s,4s)
  EXPECT_EQ(m.intervals()[1].index, 1u);     // a's [5s,6s) is in [4s,8s)
  timeline n = a;
  EXPECT_FALSE(n.merge(odd));
  EXPECT_EQ(n.width(), 1s);  // unchanged
  EXPECT_EQ(n.intervals().size(), 2u);
}

// Every request failed: no latencies, but each interval's record still costs memory, and the
// budget counts it, so a long run of short intervals coarsens instead of growing.
TEST(timeline, intervals_without_latencies_count_against_the_budget) {
  timeline t;
  t.enable(10ms, 100 * timeline::record_cost);
  for (int i = 0; i < 5000; ++i) {
    t.advance(std::chrono::milliseconds(10 * i));
    t.record_error(error_kind::refused);
  }
  t.finish();
  EXPECT_GT(t.coarsened(), 0u);
  EXPECT_LE(t.buckets_kept(), 100 * timeline::record_cost);
  std::uint64_t n = 0;
  for (const auto& r : t.intervals()) n += r.errors;
  EXPECT_EQ(n, 5000u) << "coarsening loses no count";
}

#include "hit/stats/summary.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using hit::stats::error_kind;
using hit::stats::summary;

TEST(summary, counts_responses_successes_and_errors) {
  summary s;
  s.record_response(200, 100, 2ms, 1ms);
  s.record_response(302, 50, 3ms, 3ms);
  s.record_response(503, 10, 1ms, 1ms);
  s.record_error(error_kind::timeout);
  EXPECT_EQ(s.requests, 4u);
  EXPECT_EQ(s.successes, 2u);
  EXPECT_EQ(s.errors, 1u);
  EXPECT_EQ(s.bytes, 160u);
  EXPECT_EQ(s.status_counts[200], 1u);
  EXPECT_EQ(s.status_counts[503], 1u);
  EXPECT_EQ(s.error_count(error_kind::timeout), 1u);
  EXPECT_DOUBLE_EQ(s.success_ratio(), 0.5);
  EXPECT_EQ(s.latency.count(), 3u);
  EXPECT_EQ(s.latency.max(), 3'000'000u);
}

TEST(summary, out_of_range_status_is_kept_as_other) {
  summary s;
  s.record_response(999, 0, 1ms, 1ms);
  EXPECT_EQ(s.status_counts[0], 1u);
  EXPECT_EQ(s.requests, 1u);
}

TEST(summary, merge_adds_counts_and_takes_the_longest_elapsed) {
  summary a, b;
  a.record_response(200, 10, 1ms, 1ms);
  a.elapsed = 2s;
  a.connections_opened = 3;
  b.record_response(200, 20, 5ms, 4ms);
  b.record_error(error_kind::reset);
  b.elapsed = 3s;
  b.connections_opened = 4;
  a.merge(b);
  EXPECT_EQ(a.requests, 3u);
  EXPECT_EQ(a.bytes, 30u);
  EXPECT_EQ(a.status_counts[200], 2u);
  EXPECT_EQ(a.error_count(error_kind::reset), 1u);
  EXPECT_EQ(a.elapsed, 3s);
  EXPECT_EQ(a.connections_opened, 7u);
  EXPECT_EQ(a.latency.count(), 2u);
  EXPECT_DOUBLE_EQ(a.rps(), 1.0);
}

TEST(summary, merge_adds_the_timing_breakdown_and_keeps_the_longest_dns) {
  summary a, b;
  a.ttfb.record(1ms);
  a.connect_time.record(100us);
  a.tls_handshake.record(2ms);
  a.tls_full = 1;
  a.dns = 3ms;
  b.ttfb.record(4ms);
  b.ttfb.record(5ms);
  b.connect_time.record(300us);
  b.tls_handshake.record(1ms);
  b.tls_handshake.record(6ms);
  b.tls_full = 1;
  b.tls_resumed = 2;
  b.dns = 2ms;
  a.merge(b);
  EXPECT_EQ(a.ttfb.count(), 3u);
  EXPECT_EQ(a.ttfb.max(), 5'000'000u);
  EXPECT_EQ(a.connect_time.count(), 2u);
  EXPECT_EQ(a.connect_time.min(), 100'000u);
  EXPECT_EQ(a.connect_time.max(), 300'000u);
  EXPECT_EQ(a.tls_handshake.count(), 3u);
  EXPECT_EQ(a.tls_handshake.max(), 6'000'000u);
  EXPECT_EQ(a.tls_full, 2u);
  EXPECT_EQ(a.tls_resumed, 2u);
  // Every part resolved the same host once, before the run: the run waited for the slowest.
  EXPECT_EQ(a.dns, 3ms);
  summary c;
  c.dns = 1ms;
  c.merge(a);
  EXPECT_EQ(c.dns, 3ms) << "whichever side holds the longer one";
}

TEST(summary, error_kind_names_are_stable_json_keys) {
  EXPECT_EQ(hit::stats::name(error_kind::refused), "refused");
  EXPECT_EQ(hit::stats::name(error_kind::timeout), "timeout");
  EXPECT_EQ(hit::stats::name(error_kind::tls), "tls");
  EXPECT_EQ(hit::stats::name(error_kind::other), "other");
}

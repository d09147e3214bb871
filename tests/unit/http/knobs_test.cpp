#include <gtest/gtest.h>

#include "hit/http/server.hpp"

using namespace std::chrono_literals;
using hit::http::parse_knobs;

TEST(knobs, none_without_a_query) {
  const auto k = parse_knobs("/index.html");
  EXPECT_EQ(k.status, 200u);
  EXPECT_EQ(k.delay, 0ns);
  EXPECT_EQ(k.size, -1);
  EXPECT_FALSE(k.chunked || k.close || k.reset);
}

TEST(knobs, every_knob) {
  const auto k = parse_knobs("/?delay=150ms&status=503&size=16384&chunked=1&close&reset=0&x=y");
  EXPECT_EQ(k.delay, 150ms);
  EXPECT_EQ(k.status, 503u);
  EXPECT_EQ(k.size, 16384);
  EXPECT_TRUE(k.chunked);
  EXPECT_TRUE(k.close);
  EXPECT_FALSE(k.reset);
}

TEST(knobs, refuse_is_a_flag) {
  EXPECT_TRUE(parse_knobs("/?refuse=1").refuse);
  EXPECT_TRUE(parse_knobs("/?refuse").refuse);
  EXPECT_FALSE(parse_knobs("/?refuse=0").refuse);
  EXPECT_FALSE(parse_knobs("/?reset=1").refuse);
}

TEST(knobs, halfclose_is_a_flag) {
  EXPECT_TRUE(parse_knobs("/?halfclose=1").halfclose);
  EXPECT_FALSE(parse_knobs("/?halfclose=0").halfclose);
}

TEST(knobs, hold_is_a_duration) {
  EXPECT_EQ(parse_knobs("/?early=1&hold=3s").hold, 3s);
  EXPECT_EQ(parse_knobs("/?hold=250").hold, 250ms);
  EXPECT_EQ(parse_knobs("/?early=1").hold, 0ns);
}

TEST(knobs, bare_delay_is_milliseconds_and_bad_values_fall_back) {
  EXPECT_EQ(parse_knobs("/?delay=20").delay, 20ms);
  EXPECT_EQ(parse_knobs("/?status=42").status, 200u);
  EXPECT_EQ(parse_knobs("/?size=-3").size, -1);
  EXPECT_EQ(parse_knobs("/?delay=soon").delay, 0ns);
}

TEST(knobs, misbehaviour_flags_take_one_bare_or_zero) {
  const auto none = parse_knobs("/?status=200");
  EXPECT_FALSE(none.garbage || none.hangup || none.early || none.extra || none.upgrade);

  EXPECT_TRUE(parse_knobs("/?garbage=1").garbage);
  EXPECT_TRUE(parse_knobs("/?garbage").garbage);
  EXPECT_FALSE(parse_knobs("/?garbage=0").garbage);

  EXPECT_TRUE(parse_knobs("/?hangup=1").hangup);
  EXPECT_TRUE(parse_knobs("/?hangup").hangup);
  EXPECT_FALSE(parse_knobs("/?hangup=0").hangup);

  EXPECT_TRUE(parse_knobs("/?early=1").early);
  EXPECT_TRUE(parse_knobs("/?early").early);
  EXPECT_FALSE(parse_knobs("/?early=0").early);

  EXPECT_TRUE(parse_knobs("/?extra=1").extra);
  EXPECT_TRUE(parse_knobs("/?extra").extra);
  EXPECT_FALSE(parse_knobs("/?extra=0").extra);

  EXPECT_TRUE(parse_knobs("/?upgrade=1").upgrade);
  EXPECT_TRUE(parse_knobs("/?upgrade").upgrade);
  EXPECT_FALSE(parse_knobs("/?upgrade=0").upgrade);
}

TEST(knobs, each_flag_sets_only_itself) {
  const auto k = parse_knobs("/upload?extra=1&drop");
  EXPECT_TRUE(k.extra);
  EXPECT_TRUE(k.drop);
  EXPECT_FALSE(k.garbage || k.hangup || k.early || k.upgrade || k.reset || k.close);
  EXPECT_EQ(k.status, 200u);
}

TEST(knobs, early_answers_413_unless_status_says_otherwise) {
  EXPECT_EQ(parse_knobs("/?early=1").status, 413u);
  EXPECT_EQ(parse_knobs("/?early").status, 413u);
  EXPECT_EQ(parse_knobs("/?early=1&status=400").status, 400u);
  EXPECT_EQ(parse_knobs("/?status=400&early=1").status, 400u);
  EXPECT_EQ(parse_knobs("/?early=1&status=42").status, 413u);  // a bad status falls back
  EXPECT_EQ(parse_knobs("/?early=0").status, 200u);
}

TEST(knobs, size_is_bounded_by_max_body_size) {
  EXPECT_EQ(parse_knobs("/?size=1073741824").size,
            static_cast<std::int64_t>(hit::http::max_body_size));
  EXPECT_EQ(parse_knobs("/?size=1073741825").size, -1);
}

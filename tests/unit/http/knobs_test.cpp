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

TEST(knobs, bare_delay_is_milliseconds_and_bad_values_fall_back) {
  EXPECT_EQ(parse_knobs("/?delay=20").delay, 20ms);
  EXPECT_EQ(parse_knobs("/?status=42").status, 200u);
  EXPECT_EQ(parse_knobs("/?size=-3").size, -1);
  EXPECT_EQ(parse_knobs("/?delay=soon").delay, 0ns);
}

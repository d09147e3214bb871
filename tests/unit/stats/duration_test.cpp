#include "hit/stats/duration.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using hit::stats::format_duration;
using hit::stats::parse_duration;

TEST(duration, parses_units_and_sequences) {
  EXPECT_EQ(*parse_duration("10s"), 10s);
  EXPECT_EQ(*parse_duration("250ms"), 250ms);
  EXPECT_EQ(*parse_duration("1m30s"), 90s);
  EXPECT_EQ(*parse_duration("2h"), 2h);
  EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(*parse_duration("100us"), 100us);
  EXPECT_EQ(*parse_duration("7ns"), 7ns);
  EXPECT_EQ(*parse_duration("5"), 5s);
  EXPECT_EQ(*parse_duration("5", 1ms), 5ms);
}

TEST(duration, rejects_garbage) {
  for (const char* bad : {"", "s", "10x", "-5s", "1..5s", "abc", "10s5", "5 s", "."})
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
}

TEST(duration, formats_with_readable_units) {
  EXPECT_EQ(format_duration(812us), "812us");
  EXPECT_EQ(format_duration(12345us), "12.3ms");
  EXPECT_EQ(format_duration(1250ms), "1.25s");
  EXPECT_EQ(format_duration(125s), "2m05s");
  EXPECT_EQ(format_duration(999ns), "999ns");
}

TEST(duration, failures_quote_the_text_on_one_line) {
  const auto r = parse_duration("10\nparsecs");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("'10\\nparsecs'"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos);
}

TEST(duration, zero_formats_as_zero_seconds) {
  EXPECT_EQ(format_duration(0ns), "0s");
  EXPECT_EQ(format_duration(-5ns), "0s");
}

TEST(duration, out_of_range_numbers_are_rejected_not_thrown) {
  EXPECT_FALSE(parse_duration("1" + std::string(400, '0') + "s").ok());
  EXPECT_FALSE(parse_duration("99999999999h").ok());
}

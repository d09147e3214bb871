#include "hit/flow/produce.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "watchdog.hpp"

using namespace std::chrono_literals;
using hit::flow::channel_status;
using hit::flow::produce;
using hit::flow::test::watchdog;

TEST(produce, emits_n_items_in_order_then_closes) {
  watchdog wd(30s);
  auto s = produce(1000, [](std::uint64_t i) { return i * 3; });
  std::uint64_t expect = 0;
  for (;;) {
    auto r = s.output().recv();
    if (!r) {
      EXPECT_EQ(r.status, channel_status::closed);
      break;
    }
    EXPECT_EQ(*r.value, expect * 3);
    ++expect;
  }
  EXPECT_EQ(expect, 1000u);
  EXPECT_EQ(s.join().not_processed, 0u);
}

TEST(produce, make_without_index_repeats_the_item) {
  watchdog wd(30s);
  auto s = produce(5, [] { return std::string("GET /"); }, {}, {.capacity = 0, .batch = 1});
  int n = 0;
  while (auto r = s.output().recv()) {
    EXPECT_EQ(*r.value, "GET /");
    ++n;
  }
  EXPECT_EQ(n, 5);
}

TEST(produce, cancel_counts_what_was_not_produced) {
  watchdog wd(30s);
  std::stop_source stop;
  auto s = produce(1'000'000, [](std::uint64_t i) { return i; }, stop.get_token(), {.capacity = 8});
  std::uint64_t got = 0;
  for (int i = 0; i < 100; ++i) got += s.output().recv().status == channel_status::ok;
  stop.request_stop();
  const auto rep = s.join();
  // What the consumer did not take is still in the channel; the rest was counted.
  const auto buffered = s.output().size();
  EXPECT_EQ(got + buffered + rep.not_processed, 1'000'000u);
}

TEST(produce, dropping_the_stage_joins_its_blocked_thread) {
  watchdog wd(30s);
  {
    auto s = produce(1'000'000, [](std::uint64_t i) { return i; }, {}, {.capacity = 1});
  }
  SUCCEED();
}

TEST(produce, an_exception_in_make_is_reported) {
  watchdog wd(30s);
  auto s = produce(100, [](std::uint64_t i) {
    if (i == 10) throw std::runtime_error("make failed");
    return i;
  });
  int n = 0;
  while (s.output().recv()) ++n;
  const auto rep = s.join();
  EXPECT_TRUE(rep.error);
  EXPECT_EQ(static_cast<std::uint64_t>(n) + rep.not_processed, 100u);
}

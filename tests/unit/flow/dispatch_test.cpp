#include "hit/flow/dispatch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "hit/flow/produce.hpp"
#include "watchdog.hpp"

using namespace std::chrono_literals;
using hit::flow::channel_status;
using hit::flow::dispatch;
using hit::flow::produce;
using hit::flow::test::eventually;
using hit::flow::test::watchdog;

TEST(dispatch, every_item_once_and_results_close_when_all_workers_finish) {
  watchdog wd(60s);
  const std::uint64_t n = 100'000;
  auto s = dispatch(produce(n, [](std::uint64_t i) { return i; }), 8,
                    [](std::uint64_t x) { return x + 1; });
  std::vector<int> seen(n + 1);
  std::uint64_t count = 0;
  std::vector<std::uint64_t> out;
  channel_status st;
  while ((st = s.output().recv_batch(out, 100)) == channel_status::ok) {
    for (auto v : out) ++seen[v];
    count += out.size();
    out.clear();
  }
  EXPECT_EQ(st, channel_status::closed);
  EXPECT_EQ(count, n);
  for (std::uint64_t i = 1; i <= n; ++i) ASSERT_EQ(seen[i], 1);
  const auto rep = s.join();
  EXPECT_EQ(rep.not_processed, 0u);
  EXPECT_EQ(rep.results_dropped, 0u);
}

// Slow calls run concurrently, on `concurrency` threads, each with its own copy of fn. The first
// call holds on (up to a generous deadline) until a second call is in flight, so the overlap shows
// however the threads are scheduled; a worker takes at most a quarter of the 64 items, so the
// others always have some to start on.
TEST(dispatch, runs_concurrently_with_a_copy_of_fn_per_worker) {
  watchdog wd(60s);
  std::atomic<int> now{0};
  std::atomic<int> peak{0};
  std::atomic<bool> first{true};
  struct fn_t {
    std::atomic<int>* now;
    std::atomic<int>* peak;
    std::atomic<bool>* first;
    std::uint64_t calls = 0;  // per-worker state, no lock needed
    std::uint64_t operator()(int) {
      const int c = ++*now;
      int p = peak->load();
      while (c > p && !peak->compare_exchange_weak(p, c)) {
      }
      if (first->exchange(false)) (void)eventually([&] { return peak->load() >= 2; }, 10s);
      std::this_thread::sleep_for(5ms);
      --*now;
      return ++calls;
    }
  };
  auto s = dispatch(produce(64, [] { return 0; }), 4, fn_t{&now, &peak, &first});
  std::uint64_t n = 0;
  while (s.output().recv()) ++n;
  EXPECT_EQ(n, 64u);
  EXPECT_GE(peak.load(), 2);
  EXPECT_LE(peak.load(), 4);
}

TEST(dispatch, an_exception_stops_the_stage_and_is_reported) {
  watchdog wd(60s);
  const std::uint64_t n = 10'000;
  auto s = dispatch(produce(n, [](std::uint64_t i) { return i; }), 2, [](std::uint64_t x) {
    if (x == 500) throw std::runtime_error("send failed");
    return x;
  });
  std::uint64_t got = 0;
  while (s.output().recv()) ++got;
  const auto rep = s.join();
  EXPECT_TRUE(rep.error);
  EXPECT_EQ(got + rep.not_processed + rep.results_dropped, n);
}

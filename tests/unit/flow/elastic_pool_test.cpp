#include "hit/flow/elastic_pool.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

#include "watchdog.hpp"

using namespace std::chrono_literals;
using hit::flow::elastic_pool;
using hit::flow::pool_event;
using hit::flow::pool_event_kind;
using hit::flow::pool_options;
using hit::flow::process_result;
using hit::flow::submit_status;
using hit::flow::test::eventually;
using hit::flow::test::under_tsan;
using hit::flow::test::watchdog;

namespace {

// Shared by every worker of a test: what happened, counted with atomics.
struct ledger {
  explicit ledger(std::size_t n) : seen(n) {}
  std::vector<std::atomic<std::uint8_t>> seen;
  std::atomic<std::uint64_t> befores{0};
  std::atomic<std::uint64_t> afters{0};
  std::atomic<std::uint64_t> before_attempts{0};
  std::atomic<int> fail_first_befores{0};  // this many before() calls fail
  std::atomic<int> in_process{0};
  std::atomic<int> max_in_process{0};
  std::chrono::microseconds process_time{0};
};

struct msg {
  std::uint64_t id;
  enum kind : std::uint8_t { plain, fail, stop, throws } what = plain;
};

struct test_worker {
  using message_type = msg;
  ledger* l;
  bool ready = false;

  bool before(std::stop_token) {
    ++l->before_attempts;
    if (l->fail_first_befores.fetch_sub(1) > 0) return false;
    ready = true;
    ++l->befores;
    return true;
  }
  process_result process(msg& m) {
    EXPECT_TRUE(ready);
    const int now = ++l->in_process;
    int prev = l->max_in_process.load();
    while (now > prev && !l->max_in_process.compare_exchange_weak(prev, now)) {
    }
    if (l->process_time.count() > 0) std::this_thread::sleep_for(l->process_time);
    ++l->seen[m.id];
    --l->in_process;
    switch (m.what) {
      case msg::fail:
        return process_result::failed;
      case msg::stop:
        return process_result::stop_worker;
      case msg::throws:
        throw std::runtime_error("boom");
      default:
        return process_result::ok;
    }
  }
  void after() { ++l->afters; }
};

elastic_pool<test_worker>::factory make(ledger& l) {
  return [&l] { return test_worker{&l}; };
}

}  // namespace

TEST(elastic_pool, close_processes_everything_accepted) {
  watchdog wd(60s);
  ledger l(1000);
  elastic_pool<test_worker> pool({.max_workers = 4, .queue_capacity = 16}, make(l));
  for (std::uint64_t i = 0; i < 1000; ++i) ASSERT_EQ(pool.submit(msg{i}), submit_status::ok);
  const auto r = pool.close();
  EXPECT_EQ(r.submitted, 1000u);
  EXPECT_EQ(r.processed, 1000u);
  EXPECT_EQ(r.not_processed, 0u);
  for (auto& s : l.seen) ASSERT_EQ(s.load(), 1);
  EXPECT_EQ(l.befores.load(), l.afters.load());
  msg late{0};
  EXPECT_EQ(pool.submit(std::move(late)), submit_status::closed);
  EXPECT_EQ(pool.try_submit(msg{0}), submit_status::closed);
}

// The big one: concurrent producers, random failures, stop requests, exceptions and idle gaps
// (so workers retire and restart mid-stream). Nothing lost, nothing duplicated, after() once per
// before().
TEST(elastic_pool, stress_every_message_exactly_once) {
  watchdog wd(150s);
  const std::uint64_t total = under_tsan ? 200'000 : 1'000'000;
  const int producers = 4;
  ledger l(total);
  std::atomic<std::uint64_t> expected_failed{0};
  pool_options opt{.min_workers = 1, .max_workers = 8, .queue_capacity = 256, .idle_timeout = 2ms};
  elastic_pool<test_worker> pool(opt, make(l));
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([&, p] {
      std::mt19937_64 rng(static_cast<std::uint64_t>(p) + 1);
      const std::uint64_t per = total / producers;
      for (std::uint64_t i = 0; i < per; ++i) {
        msg m{static_cast<std::uint64_t>(p) * per + i};
        const auto dice = rng() % 1000;
        if (dice < 20) {
          m.what = msg::fail;
        } else if (dice < 22) {
          m.what = msg::stop;
        } else if (dice < 23) {
          m.what = msg::throws;
        }
        if (m.what == msg::fail || m.what == msg::throws) ++expected_failed;
        if (i % 4096 == 4095) std::this_thread::sleep_for(5ms);  // idle gap: workers retire
        if (i % 3 == 0) {
          submit_status s;
          while ((s = pool.try_submit(msg{m})) == submit_status::full) std::this_thread::yield();
          ASSERT_EQ(s, submit_status::ok);
        } else {
          ASSERT_EQ(pool.submit(std::move(m)), submit_status::ok);
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  const auto r = pool.close();
  EXPECT_EQ(r.submitted, total);
  EXPECT_EQ(r.processed, total);
  EXPECT_EQ(r.failed, expected_failed.load());
  EXPECT_EQ(r.not_processed, 0u);
  std::uint64_t bad = 0;
  for (auto& s : l.seen) bad += s.load() != 1;
  EXPECT_EQ(bad, 0u);
  EXPECT_EQ(l.befores.load(), l.afters.load());
  const auto m = pool.metrics();
  EXPECT_EQ(m.started, m.retired);
  EXPECT_GT(m.retired, 10u);  // stop requests, exceptions and idle gaps all retired workers
}

TEST(elastic_pool, scales_up_under_backlog_and_down_after_idle) {
  watchdog wd(60s);
  ledger l(400);
  l.process_time = 2ms;
  elastic_pool<test_worker> pool(
      {.min_workers = 1, .max_workers = 6, .queue_capacity = 1000, .idle_timeout = 100ms}, make(l));
  EXPECT_EQ(pool.metrics().workers, 1u);
  for (std::uint64_t i = 0; i < 400; ++i) ASSERT_EQ(pool.submit(msg{i}), submit_status::ok);
  EXPECT_TRUE(eventually([&] { return pool.metrics().started >= 6; }, 10s));
  EXPECT_TRUE(eventually([&] { return pool.metrics().processed == 400; }, 30s));
  EXPECT_GT(l.max_in_process.load(), 1);
  // Idle: back to min_workers, and the retired ones ran after().
  EXPECT_TRUE(eventually([&] { return pool.metrics().workers == 1; }, 20s));
  EXPECT_EQ(l.afters.load(), l.befores.load() - 1);
  // A worker may retire during the burst and be replaced (a slow machine, TSan), so started can
  // pass 6; what must hold is that all but the floor retired and that never more than 6 ran.
  const auto m = pool.metrics();
  EXPECT_GE(m.started, 6u);
  EXPECT_EQ(m.retired, m.started - 1);
  EXPECT_LE(l.max_in_process.load(), 6);
  pool.close();
  EXPECT_EQ(l.afters.load(), l.befores.load());
}

TEST(elastic_pool, a_trickle_does_not_grow_the_pool) {
  watchdog wd(60s);
  ledger l(50);
  elastic_pool<test_worker> pool({.min_workers = 1, .max_workers = 8}, make(l));
  for (std::uint64_t i = 0; i < 50; ++i) {
    // Wait until the single worker is idle again, so each message finds an idle worker.
    ASSERT_TRUE(eventually([&] { return pool.metrics().idle == 1; }, 10s));
    ASSERT_EQ(pool.submit(msg{i}), submit_status::ok);
    ASSERT_TRUE(eventually([&] { return pool.metrics().processed == i + 1; }, 10s));
  }
  EXPECT_EQ(pool.metrics().started, 1u);
}

TEST(elastic_pool, failing_before_is_retried_and_loses_nothing) {
  watchdog wd(60s);
  ledger l(100);
  l.fail_first_befores = 5;
  std::atomic<int> failures_seen{0};
  pool_options opt{.max_workers = 2, .before_backoff = 1ms, .before_backoff_max = 4ms};
  opt.on_event = [&](const pool_event& e) {
    if (e.kind == pool_event_kind::before_failed) ++failures_seen;
  };
  elastic_pool<test_worker> pool(opt, make(l));
  for (std::uint64_t i = 0; i < 100; ++i) ASSERT_EQ(pool.submit(msg{i}), submit_status::ok);
  const auto r = pool.close();
  EXPECT_EQ(r.processed, 100u);
  for (auto& s : l.seen) ASSERT_EQ(s.load(), 1);
  EXPECT_GE(pool.metrics().before_failures, 5u);
  EXPECT_EQ(failures_seen.load(), static_cast<int>(pool.metrics().before_failures));
  EXPECT_EQ(l.befores.load(), l.afters.load());  // after() only for successful befores
}

TEST(elastic_pool, close_with_producers_blocked_on_a_full_queue_never_hangs) {
  watchdog wd(60s);
  const std::uint64_t n = 100'000;
  ledger l(n);
  l.process_time = 100us;
  elastic_pool<test_worker> pool({.max_workers = 2, .queue_capacity = 4}, make(l));
  std::atomic<std::uint64_t> next{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::vector<std::thread> ts;
  for (int p = 0; p < 8; ++p) {
    ts.emplace_back([&] {
      for (;;) {
        const std::uint64_t id = next++;
        if (id >= n) return;
        const auto s = pool.submit(msg{id});
        if (s == submit_status::ok) {
          ++accepted;
        } else {
          EXPECT_EQ(s, submit_status::closed);
          ++rejected;
          return;
        }
      }
    });
  }
  // Close while producers are blocked on the full queue: the queue fills at once (2 workers at
  // 100 us a message drain ~20k/s; 8 producers submit far faster), and all n would take ~5 s to
  // go through, so close() comes long before the producers run out of messages.
  ASSERT_TRUE(eventually([&] { return accepted >= 100 && pool.metrics().queue_depth == 4; }, 10s));
  const auto r = pool.close();
  for (auto& t : ts) t.join();
  EXPECT_EQ(r.processed, accepted.load());
  EXPECT_EQ(r.submitted, accepted.load());
  EXPECT_GE(rejected.load(), 1u);
  std::uint64_t processed = 0;
  for (auto& s : l.seen) {
    ASSERT_LE(s.load(), 1);
    processed += s.load();
  }
  EXPECT_EQ(processed, accepted.load());
}

TEST(elastic_pool, abort_reports_what_was_not_processed) {
  watchdog wd(60s);
  const std::uint64_t n = 2000;
  ledger l(n);
  l.process_time = 5ms;  // the whole backlog would take ~5 s: abort comes long before it is done
  elastic_pool<test_worker> pool({.max_workers = 2, .queue_capacity = n, .max_batch = 8}, make(l));
  for (std::uint64_t i = 0; i < n; ++i) ASSERT_EQ(pool.submit(msg{i}), submit_status::ok);
  ASSERT_TRUE(eventually([&] { return pool.metrics().processed >= 1; }, 10s));  // mid-stream
  const auto start = std::chrono::steady_clock::now();
  const auto r = pool.abort();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);  // prompt: one message per worker
  EXPECT_GT(r.not_processed, 0u);
  EXPECT_EQ(r.processed + r.not_processed, n);
  std::uint64_t processed = 0;
  for (auto& s : l.seen) processed += s.load();
  EXPECT_EQ(processed, r.processed);
  EXPECT_EQ(l.befores.load(), l.afters.load());
  EXPECT_EQ(pool.close().not_processed, r.not_processed);  // idempotent
}

// A worker that submits into its own full pool gets `full` instead of deadlocking.
struct resubmitting_worker {
  using message_type = int;
  std::function<submit_status(int)>* resubmit;  // type-erased: the pool type is not complete yet
  std::atomic<int>* full_seen;
  void before(std::stop_token) {}
  void process(int& m) {
    if (m == 0) {
      for (int i = 0; i < 100; ++i) {
        if ((*resubmit)(1) == submit_status::full) ++*full_seen;
      }
    }
  }
  void after() {}
};

TEST(elastic_pool, submit_from_a_worker_into_a_full_pool_does_not_deadlock) {
  watchdog wd(60s);
  std::atomic<int> full_seen{0};
  std::function<submit_status(int)> resubmit;
  elastic_pool<resubmitting_worker> pool({.max_workers = 1, .queue_capacity = 2}, [&] {
    return resubmitting_worker{&resubmit, &full_seen};
  });
  resubmit = [&pool](int m) { return pool.submit(std::move(m)); };
  ASSERT_EQ(pool.submit(0), submit_status::ok);
  ASSERT_TRUE(eventually([&] { return pool.metrics().processed >= 1; }, 10s));
  const auto r = pool.close();
  EXPECT_GT(full_seen.load(), 90);
  EXPECT_EQ(r.processed, r.submitted);
}

TEST(elastic_pool, events_trace_the_lifecycle) {
  watchdog wd(60s);
  ledger l(10);
  std::mutex mu;
  std::vector<pool_event_kind> kinds;
  pool_options opt{.max_workers = 1, .idle_timeout = 20ms};
  opt.on_event = [&](const pool_event& e) {
    std::lock_guard<std::mutex> g(mu);
    kinds.push_back(e.kind);
  };
  elastic_pool<test_worker> pool(opt, make(l));
  ASSERT_EQ(pool.submit(msg{0}), submit_status::ok);
  ASSERT_TRUE(eventually([&] { return pool.metrics().retired == 1; }, 10s));
  pool.close();
  std::lock_guard<std::mutex> g(mu);
  ASSERT_GE(kinds.size(), 4u);
  EXPECT_EQ(kinds.front(), pool_event_kind::worker_started);
  EXPECT_EQ(kinds[1], pool_event_kind::worker_ready);
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), pool_event_kind::worker_idle), kinds.end());
  EXPECT_EQ(kinds.back(), pool_event_kind::worker_retired);
}

namespace {
double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
}  // namespace

// The seed busy-spins while idle. Idle workers here block: over a second of idleness the whole
// process uses a few milliseconds of CPU at most; the bound is wide for noisy machines.
TEST(elastic_pool, an_idle_pool_uses_no_cpu) {
  watchdog wd(60s);
  ledger l(100);
  elastic_pool<test_worker> pool({.min_workers = 4, .max_workers = 8, .idle_timeout = 10s},
                                 make(l));
  for (std::uint64_t i = 0; i < 100; ++i) ASSERT_EQ(pool.submit(msg{i}), submit_status::ok);
  ASSERT_TRUE(eventually([&] { return pool.metrics().processed == 100; }, 10s));
  const auto all_waiting = [&] {
    const auto m = pool.metrics();
    return m.idle == m.workers;
  };
  ASSERT_TRUE(eventually(all_waiting, 10s));  // so the measurement starts idle
  const double before = cpu_seconds();
  std::this_thread::sleep_for(1s);
  const double used = cpu_seconds() - before;
  EXPECT_LT(used, 0.1) << "idle pool used " << used << " s of CPU in 1 s";
  EXPECT_GE(pool.metrics().workers, 4u);
}

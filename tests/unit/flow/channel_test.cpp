#include "hit/flow/channel.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "watchdog.hpp"

using namespace std::chrono_literals;
using hit::flow::channel;
using hit::flow::channel_status;
using hit::flow::test::eventually;
using hit::flow::test::under_tsan;
using hit::flow::test::watchdog;

TEST(channel, fifo_and_bounded) {
  channel<int> ch(3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(ch.try_send(int{i}), channel_status::ok);
  EXPECT_EQ(ch.try_send(3), channel_status::full);
  EXPECT_EQ(ch.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    auto r = ch.try_recv();
    ASSERT_TRUE(r);
    EXPECT_EQ(*r.value, i);
  }
  EXPECT_EQ(ch.try_recv().status, channel_status::empty);
}

TEST(channel, close_drains_then_reports_closed) {
  channel<std::string> ch(4);
  ASSERT_EQ(ch.send("a"), channel_status::ok);
  ASSERT_EQ(ch.send("b"), channel_status::ok);
  ch.close();
  ch.close();  // idempotent
  std::string keep = "kept";
  EXPECT_EQ(ch.send(std::move(keep)), channel_status::closed);
  EXPECT_EQ(keep, "kept");  // a failed send leaves the item with the caller
  EXPECT_EQ(*ch.recv().value, "a");
  EXPECT_EQ(*ch.recv().value, "b");
  EXPECT_EQ(ch.recv().status, channel_status::closed);
  EXPECT_EQ(ch.try_recv().status, channel_status::closed);
}

TEST(channel, move_only_items) {
  channel<std::unique_ptr<int>> ch(1);
  ASSERT_EQ(ch.send(std::make_unique<int>(7)), channel_status::ok);
  auto r = ch.recv();
  ASSERT_TRUE(r);
  EXPECT_EQ(**r.value, 7);
}

TEST(channel, timed_calls_time_out) {
  watchdog wd(30s);
  channel<int> ch(1);
  EXPECT_EQ(ch.recv_for(20ms).status, channel_status::timeout);
  ASSERT_EQ(ch.send(1), channel_status::ok);
  EXPECT_EQ(ch.send_for(2, 20ms), channel_status::timeout);
  std::vector<int> out;
  EXPECT_EQ(ch.recv_batch(out, 10), channel_status::ok);
  EXPECT_EQ(ch.recv_batch_until(out, 10, std::chrono::steady_clock::now() + 10ms),
            channel_status::timeout);
}

TEST(channel, stop_token_unblocks_send_and_recv) {
  watchdog wd(30s);
  channel<int> full(1);
  ASSERT_EQ(full.send(0), channel_status::ok);
  channel<int> empty(1);
  std::stop_source stop;
  channel_status s1{}, s2{};
  std::thread a([&] { s1 = full.send(1, stop.get_token()); });
  std::thread b([&] { s2 = empty.recv(stop.get_token()).status; });
  std::this_thread::sleep_for(20ms);
  stop.request_stop();
  a.join();
  b.join();
  EXPECT_EQ(s1, channel_status::stopped);
  EXPECT_EQ(s2, channel_status::stopped);
  // An already stopped token still lets a call that need not wait succeed.
  EXPECT_EQ(empty.send(5, stop.get_token()), channel_status::ok);
  EXPECT_EQ(empty.recv(stop.get_token()).status, channel_status::ok);
}

TEST(channel, close_wakes_blocked_senders_and_receivers) {
  watchdog wd(30s);
  channel<int> ch(1);
  ASSERT_EQ(ch.send(0), channel_status::ok);
  std::vector<std::thread> senders;
  std::atomic<int> closed_sends{0};
  for (int i = 0; i < 4; ++i) {
    senders.emplace_back([&] {
      if (ch.send(1) == channel_status::closed) ++closed_sends;
    });
  }
  std::this_thread::sleep_for(20ms);
  ch.close();
  for (auto& t : senders) t.join();
  EXPECT_EQ(closed_sends.load(), 4);
  EXPECT_EQ(ch.recv().status, channel_status::ok);
  EXPECT_EQ(ch.recv().status, channel_status::closed);
}

TEST(channel, capacity_zero_is_a_rendezvous) {
  watchdog wd(30s);
  channel<int> ch(0);
  EXPECT_EQ(ch.try_send(1), channel_status::full);  // nobody is receiving
  std::atomic<bool> sent{false};
  std::thread s([&] {
    EXPECT_EQ(ch.send(42), channel_status::ok);
    sent = true;
  });
  std::this_thread::sleep_for(30ms);
  EXPECT_FALSE(sent.load());  // blocked until a receiver comes
  auto r = ch.recv();
  s.join();
  EXPECT_EQ(*r.value, 42);
  EXPECT_TRUE(sent.load());
  EXPECT_EQ(ch.size(), 0u);
}

// Many producers and consumers, single and batch calls mixed, with consumers that keep leaving on
// short timeouts (the case where a shared condition variable loses wake-ups): every item arrives
// exactly once and nothing hangs.
class channel_stress : public ::testing::TestWithParam<std::size_t> {};

TEST_P(channel_stress, every_item_once) {
  watchdog wd(90s);
  const std::size_t capacity = GetParam();
  const int producers = 4;
  const int consumers = 4;
  const int per_producer = under_tsan ? 5'000 : 50'000;
  channel<int> ch(capacity);
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(producers * per_producer));
  std::vector<std::thread> ts;
  for (int p = 0; p < producers; ++p) {
    ts.emplace_back([&, p] {
      std::vector<int> batch;
      for (int i = 0; i < per_producer; ++i) {
        const int v = p * per_producer + i;
        if (p % 2 == 0) {
          ASSERT_EQ(ch.send(int{v}), channel_status::ok);
        } else {
          batch.push_back(v);
          if (batch.size() == 7 || i + 1 == per_producer) {
            ASSERT_EQ(ch.send_batch(batch).status, channel_status::ok);
            batch.clear();
          }
        }
      }
    });
  }
  std::atomic<int> received{0};
  std::vector<std::thread> cs;
  for (int c = 0; c < consumers; ++c) {
    cs.emplace_back([&, c] {
      std::vector<int> out;
      for (;;) {
        if (c == 0) {
          auto r = ch.recv_for(100us);
          if (r.status == channel_status::timeout) continue;
          if (!r) return;
          ++seen[static_cast<std::size_t>(*r.value)];
          ++received;
        } else if (c == 1) {
          out.clear();
          const auto s = ch.recv_batch(out, 5);
          if (s != channel_status::ok) return;
          for (int v : out) ++seen[static_cast<std::size_t>(v)];
          received += static_cast<int>(out.size());
        } else {
          auto r = ch.recv();
          if (!r) return;
          ++seen[static_cast<std::size_t>(*r.value)];
          ++received;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  ch.close();
  for (auto& t : cs) t.join();
  EXPECT_EQ(received.load(), producers * per_producer);
  for (auto& s : seen) ASSERT_EQ(s.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(capacities, channel_stress, ::testing::Values(0u, 1u, 64u));

// Receivers cancelled by stop tokens while items flow: a receiver woken for an item takes it
// before it looks at its stop token, so a notify_one it consumed is never lost with the item
// left behind and the remaining receiver asleep.
TEST(channel, cancelled_receivers_never_strand_an_item) {
  watchdog wd(60s);
  const int rounds = under_tsan ? 200 : 2000;
  for (int round = 0; round < rounds; ++round) {
    channel<int> ch(1);
    std::stop_source cancel;
    std::thread quitter([&] { (void)ch.recv(cancel.get_token()); });
    std::atomic<bool> got{false};
    std::thread stayer([&] { got = ch.recv().status == channel_status::ok; });
    ASSERT_EQ(ch.send(1), channel_status::ok);
    cancel.request_stop();
    quitter.join();
    // If the quitter took the item, give the stayer another.
    if (ch.size() == 0 && !got.load()) (void)ch.try_send(2);
    stayer.join();
    EXPECT_TRUE(got.load());
  }
}

// pass_on_senders_: a batch sender checks its stop token before it looks for room, so it can be
// woken for a freed slot and leave without using it; it must hand that wake-up to the next sender.
// The stop callback's notify_all would hide a missing pass-on, so the round makes sure it never
// runs: the test's own stop_callback, registered after the batch sender's, is run first (libstdc++
// runs them newest first) and frees the slot from inside request_stop(); the batch sender, if it
// is the one woken, sees the stop, returns and deregisters its callback before it has run. Which of
// the two waiting senders notify_one wakes is unspecified, so rounds repeat until the batch sender
// was the one in several of them; in each of those, without the pass-on the plain sender sleeps
// beside the free slot, which the probe below reports. The short sleeps only give both senders
// time to block first: a round where they have not tests less, and still passes.
TEST(channel, stopped_batch_sender_passes_its_wakeup_on) {
  watchdog wd(120s);
  int exercised = 0;
  for (int round = 0; round < 200 && exercised < 10; ++round) {
    channel<int> ch(1);
    ASSERT_EQ(ch.try_send(0), channel_status::ok);  // full
    std::stop_source stop;
    std::atomic<int> finished{0};  // senders done so far
    std::atomic<int> batch_rank{0};
    std::atomic<bool> plain_done{false};
    hit::flow::batch_result batch_res{};
    std::thread batch([&] {
      std::vector<int> items{1};
      batch_res = ch.send_batch(items, stop.get_token());
      batch_rank = ++finished;
    });
    std::this_thread::sleep_for(2ms);
    std::thread plain([&] {
      EXPECT_EQ(ch.send(2), channel_status::ok);
      plain_done = true;
      ++finished;
    });
    std::this_thread::sleep_for(2ms);
    {
      std::stop_callback free_a_slot(stop.get_token(), [&] {
        const auto r = ch.try_recv();
        EXPECT_TRUE(r && *r.value == 0);
        // Hold request_stop() here until one sender has acted on the slot.
        EXPECT_TRUE(eventually([&] { return finished > 0; }));
      });
      stop.request_stop();
    }
    // Someone takes the freed slot: the plain sender, or the batch sender if it had not started
    // waiting yet. A slot that stays free is a lost wake-up.
    const bool used = eventually([&] { return ch.size() == 1; });
    EXPECT_TRUE(used) << "round " << round << ": the plain sender slept beside a free slot";
    batch.join();
    if (!plain_done) (void)ch.try_recv();  // the batch sender took the slot; let the other in
    if (!used) ch.close();
    plain.join();
    if (!used) return;
    // The batch sender stopping first means the wake-up went to it.
    if (batch_rank == 1 && batch_res.status == channel_status::stopped) ++exercised;
  }
  // Not asserted: how notify_one chooses is the platform's business. glibc wakes the batch
  // sender (the first to wait) in most rounds.
  if (exercised == 0) std::printf("note: notify_one never chose the batch sender\n");
}

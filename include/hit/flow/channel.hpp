#pragma once
// channel<T>: a bounded multi-producer multi-consumer queue with Go channel semantics.
//
//  - Bounded: `capacity` items at most are buffered; capacity 0 is a rendezvous (a send completes
//    only when a receiver is waiting for the item, like an unbuffered Go channel).
//  - close(): later sends fail with `closed`; receivers still drain every item that was accepted
//    and only then see `closed`. Closing twice is harmless. There is no abort: nothing here
//    discards buffered items (a consumer that gives up closes, then drains and counts them).
//  - Blocking calls honour a std::stop_token and return `stopped`; timed calls return `timeout`.
//    That cancels the one call; the channel stays open.
//  - A failed send never consumes its item: the caller still owns it (send takes T&& and moves
//    from it only on success), so nothing is lost or double-counted on cancel.
//  - Batch calls (send_batch / recv_batch) move many items per lock acquisition; they are what
//    the pipeline stages use to reach millions of items per second.
//
// Senders wait on `not_full_`, receivers on `not_empty_`: with a single shared condition variable
// notify_one may wake a waiter of the wrong side and the wake-up is lost (cpp-channel #37,
// Nim #26230). A woken waiter takes the room or item it was woken for before it looks at its stop
// token or deadline; the one that does not (send_batch) passes the wake-up on (pass_on_senders_).
//
// Thread safety: every member may be called from any thread at any time, concurrently.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stop_token>
#include <utility>
#include <vector>

#include "hit/flow/detail/ring.hpp"
#include "hit/flow/detail/wait.hpp"

namespace hit::flow {

enum class channel_status {
  ok,       // the item was sent / received
  closed,   // send: the channel is closed; recv: closed and fully drained
  timeout,  // a timed call reached its deadline first
  stopped,  // the stop_token was stopped first
  full,     // try_send: no room right now
  empty,    // try_recv: nothing buffered right now (and not closed)
};

// What a receive returns: the item when status == ok, nothing otherwise.
template <class T>
struct recv_result {
  channel_status status;
  std::optional<T> value;
  explicit operator bool() const { return status == channel_status::ok; }
};

// What a batch send returns: the first `sent` items were accepted, the rest are still the
// caller's (left in place, not moved from).
struct batch_result {
  channel_status status;
  std::size_t sent;
};

template <class T>
class channel {
 public:
  using value_type = T;
  using time_point = std::chrono::steady_clock::time_point;

  explicit channel(std::size_t capacity)
      : capacity_(capacity), buf_(capacity == 0 ? 4 : capacity) {}
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;

  // Any thread. Blocks while the channel is full. ok, closed or stopped; v is moved from only
  // on ok.
  channel_status send(T&& v, std::stop_token st = {}) { return send_impl_(v, st, nullptr, true); }
  // Any thread, never blocks. ok, closed or full.
  channel_status try_send(T&& v) { return send_impl_(v, {}, nullptr, false); }
  // Any thread. Like send, but gives up with `timeout` at the deadline.
  channel_status send_until(T&& v, time_point deadline, std::stop_token st = {}) {
    return send_impl_(v, st, &deadline, true);
  }
  template <class Rep, class Period>
  channel_status send_for(T&& v, std::chrono::duration<Rep, Period> d, std::stop_token st = {}) {
    return send_until(std::move(v), deadline_after_(d), st);
  }

  // Any thread. Blocks while the channel is empty and open. ok, closed (drained) or stopped.
  recv_result<T> recv(std::stop_token st = {}) { return recv_impl_(st, nullptr, true); }
  // Any thread, never blocks. ok, closed (drained) or empty.
  recv_result<T> try_recv() { return recv_impl_({}, nullptr, false); }
  recv_result<T> recv_until(time_point deadline, std::stop_token st = {}) {
    return recv_impl_(st, &deadline, true);
  }
  template <class Rep, class Period>
  recv_result<T> recv_for(std::chrono::duration<Rep, Period> d, std::stop_token st = {}) {
    return recv_until(deadline_after_(d), st);
  }

  // Any thread. Sends items[0..n) in order, blocking for room as needed; each lock acquisition
  // moves as many as fit. Returns ok with sent == n, or closed/stopped with the count accepted
  // before that (items past it are untouched).
  batch_result send_batch(std::vector<T>& items, std::stop_token st = {}) {
    std::size_t sent = 0;
    const std::size_t n = items.size();
    if (n == 0) return {channel_status::ok, 0};
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (closed_) return {channel_status::closed, 0};
      sent = push_some_(items, 0);
      if (sent == n) return {channel_status::ok, n};
      if (st.stop_requested()) return {channel_status::stopped, sent};
    }
    detail::stop_wake wake(st, waker_());
    std::unique_lock<std::mutex> lk(mu_);
    while (sent < n) {
      if (closed_) return {channel_status::closed, sent};
      if (st.stop_requested()) {
        pass_on_senders_();  // may have been woken for room it now leaves unused
        return {channel_status::stopped, sent};
      }
      if (has_room_()) {
        sent += push_some_(items, sent);
        continue;
      }
      ++send_waiters_;
      not_full_.wait(lk);
      --send_waiters_;
    }
    return {channel_status::ok, n};
  }

  // Any thread. Blocks until at least one item is available (or closed/stopped), then appends up
  // to `max` (>= 1) items to `out` in one lock acquisition.
  channel_status recv_batch(std::vector<T>& out, std::size_t max, std::stop_token st = {}) {
    return recv_batch_impl_(out, max, st, nullptr);
  }
  channel_status recv_batch_until(std::vector<T>& out, std::size_t max, time_point deadline,
                                  std::stop_token st = {}) {
    return recv_batch_impl_(out, max, st, &deadline);
  }

  // Any thread. Idempotent. Wakes every blocked sender (they return closed) and every blocked
  // receiver (they drain what is left, then return closed).
  void close() {
    std::lock_guard<std::mutex> g(mu_);
    if (closed_) return;
    closed_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }

  [[nodiscard]] bool closed() const {
    std::lock_guard<std::mutex> g(mu_);
    return closed_;
  }
  // Items buffered now; a snapshot, stale as soon as it returns.
  [[nodiscard]] std::size_t size() const {
    std::lock_guard<std::mutex> g(mu_);
    return buf_.size();
  }
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  template <class Rep, class Period>
  static time_point deadline_after_(std::chrono::duration<Rep, Period> d) {
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(d);
  }

  detail::cv_waker waker_() { return {&mu_, &not_full_, &not_empty_}; }

  // Receivers already waiting add room: that is what makes capacity 0 a rendezvous, and with
  // capacity > 0 it only lets a waiting receiver's item skip the full buffer.
  [[nodiscard]] bool has_room_() const { return buf_.size() < capacity_ + recv_waiters_; }

  void push_one_(T& v) {
    buf_.push_back(std::move(v));
    if (recv_waiters_ > 0) not_empty_.notify_one();
  }

  std::size_t push_some_(std::vector<T>& items, std::size_t from) {
    std::size_t i = from;
    while (i < items.size() && has_room_()) buf_.push_back(std::move(items[i++]));
    const std::size_t pushed = i - from;
    for (std::size_t k = 0; k < pushed && k < recv_waiters_; ++k) not_empty_.notify_one();
    return pushed;
  }

  T pop_one_() {
    T v = buf_.pop_front();
    if (send_waiters_ > 0) not_full_.notify_one();
    return v;
  }

  // pop_one_ / pop_some_ wake one sender per slot they free, so a woken sender that leaves without
  // using its slot takes that slot's wake-up with it: another sender may sleep beside free room
  // until some later pop. send_batch can leave so (it checks its stop token before it looks for
  // room), and calls this on its way out to hand the wake-up to the next sender. The stop
  // callback's notify_all does not make this redundant: stop_requested() is true before
  // request_stop() has run the callbacks, and a callback destroyed before its turn (the sender
  // returned) is removed and never runs; channel_test's stopped_batch_sender_passes_its_wakeup_on
  // arranges exactly that.
  //
  // The other waits need no pass-on. send_impl_ looks for room before stop or timeout, and a
  // receiver for an item, and each takes what it finds, so a waiter that leaves had nothing to hand
  // on; a wait_until that reports timeout though it absorbed a notify is covered by the same check.
  void pass_on_senders_() {
    if (send_waiters_ > 0 && has_room_()) not_full_.notify_one();
  }

  channel_status send_impl_(T& v, const std::stop_token& st, const time_point* deadline,
                            bool block) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (closed_) return channel_status::closed;
      if (has_room_()) {
        push_one_(v);
        return channel_status::ok;
      }
      if (!block) return channel_status::full;
      if (st.stop_requested()) return channel_status::stopped;
    }
    detail::stop_wake wake(st, waker_());
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (closed_) return channel_status::closed;
      if (has_room_()) {
        push_one_(v);
        return channel_status::ok;
      }
      if (st.stop_requested()) return channel_status::stopped;  // no room: nothing to pass on
      ++send_waiters_;
      bool timed_out = false;
      if (deadline != nullptr) {
        timed_out = not_full_.wait_until(lk, *deadline) == std::cv_status::timeout;
      } else {
        not_full_.wait(lk);
      }
      --send_waiters_;
      if (timed_out && !closed_ && !has_room_()) return channel_status::timeout;
    }
  }

  recv_result<T> recv_impl_(const std::stop_token& st, const time_point* deadline, bool block) {
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (!buf_.empty()) return {channel_status::ok, pop_one_()};
      if (closed_) return {channel_status::closed, std::nullopt};
      if (!block) return {channel_status::empty, std::nullopt};
      if (st.stop_requested()) return {channel_status::stopped, std::nullopt};
    }
    detail::stop_wake wake(st, waker_());
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (!buf_.empty()) return {channel_status::ok, pop_one_()};
      if (closed_) return {channel_status::closed, std::nullopt};
      // Empty here, so a receiver that leaves has no item to hand on.
      if (st.stop_requested()) return {channel_status::stopped, std::nullopt};
      if (!wait_not_empty_(lk, deadline)) return {channel_status::timeout, std::nullopt};
    }
  }

  channel_status recv_batch_impl_(std::vector<T>& out, std::size_t max, const std::stop_token& st,
                                  const time_point* deadline) {
    max = std::max<std::size_t>(max, 1);
    {
      std::unique_lock<std::mutex> lk(mu_);
      if (!buf_.empty()) return pop_some_(out, max);
      if (closed_) return channel_status::closed;
      if (st.stop_requested()) return channel_status::stopped;
    }
    detail::stop_wake wake(st, waker_());
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (!buf_.empty()) return pop_some_(out, max);
      if (closed_) return channel_status::closed;
      if (st.stop_requested()) return channel_status::stopped;  // empty: nothing to hand on
      if (!wait_not_empty_(lk, deadline)) return channel_status::timeout;
    }
  }

  channel_status pop_some_(std::vector<T>& out, std::size_t max) {
    std::size_t n = 0;
    while (n < max && !buf_.empty()) {
      out.push_back(buf_.pop_front());
      ++n;
    }
    for (std::size_t k = 0; k < n && k < send_waiters_; ++k) not_full_.notify_one();
    return channel_status::ok;
  }

  // Returns false on timeout with nothing to take. A receiver that starts waiting makes room
  // for a rendezvous sender, so it wakes one.
  bool wait_not_empty_(std::unique_lock<std::mutex>& lk, const time_point* deadline) {
    ++recv_waiters_;
    if (send_waiters_ > 0 && has_room_()) not_full_.notify_one();
    bool timed_out = false;
    if (deadline != nullptr) {
      timed_out = not_empty_.wait_until(lk, *deadline) == std::cv_status::timeout;
    } else {
      not_empty_.wait(lk);
    }
    --recv_waiters_;
    return !(timed_out && buf_.empty() && !closed_);
  }

  const std::size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable not_full_;   // senders wait here
  std::condition_variable not_empty_;  // receivers wait here
  detail::ring<T> buf_;                // guarded by mu_
  std::size_t send_waiters_ = 0;       // guarded by mu_
  std::size_t recv_waiters_ = 0;       // guarded by mu_
  bool closed_ = false;                // guarded by mu_
};

}  // namespace hit::flow

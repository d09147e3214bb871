#pragma once
// Blocking-wait helpers shared by channel, the stages and elastic_pool.
//
// std::condition_variable cannot wait on a std::stop_token, and condition_variable_any costs an
// extra mutex on every wait. Instead a blocking call registers a stop_callback (only on its slow
// path) that takes the owner's mutex and wakes every waiter; waiters re-check stop_requested()
// under that mutex, so a stop cannot slip between the check and the wait.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>

namespace hit::flow::detail {

using clock = std::chrono::steady_clock;

// Callback for std::stop_callback. Taking the mutex before notifying is what makes the wake-up
// impossible to lose: the waiter holds it from its stop check until it is inside wait().
struct cv_waker {
  std::mutex* mu;
  std::condition_variable* first;
  std::condition_variable* second;
  void operator()() const noexcept {
    std::lock_guard<std::mutex> g(*mu);
    first->notify_all();
    if (second != nullptr) second->notify_all();
  }
};

// A stop registration made before the owner's mutex is taken. Declare it before the
// unique_lock so it is destroyed after the lock is released: its destructor waits for a
// running callback, and the callback needs the mutex.
class stop_wake {
 public:
  // A token that cannot be stopped registers nothing (std::stop_callback checks), so there is
  // no need for an optional here (which also tripped GCC 12's -Wmaybe-uninitialized at -O3).
  stop_wake(const std::stop_token& st, cv_waker w) : cb_(st, w) {}

 private:
  std::stop_callback<cv_waker> cb_;
};

// Sleeps until `deadline` or until `st` is stopped. Returns false when stopped.
inline bool sleep_until(clock::time_point deadline, const std::stop_token& st) {
  if (st.stop_requested()) return false;
  if (!st.stop_possible()) {
    std::this_thread::sleep_until(deadline);
    return true;
  }
  std::mutex mu;
  std::condition_variable cv;
  stop_wake wake(st, cv_waker{&mu, &cv, nullptr});
  std::unique_lock<std::mutex> lk(mu);
  while (!st.stop_requested()) {
    if (cv.wait_until(lk, deadline) == std::cv_status::timeout) return !st.stop_requested();
  }
  return false;
}

}  // namespace hit::flow::detail

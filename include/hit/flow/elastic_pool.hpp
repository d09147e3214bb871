#pragma once
// elastic_pool<Worker>: a bounded queue served by between min_workers and max_workers threads,
// each running a long-lived Worker (a stream, a connection) — the design of the Go seed's
// Pipeline, with its defects fixed (docs/flow.md compares it with folly, ants, pond and TBB).
//
// Worker lifecycle, all on the worker's own thread:
//   before(stop_token)  once when the worker starts; returns false or throws to fail. A failed
//                       before is reported (event + metric) and retried with exponential backoff;
//                       the worker takes no message until it succeeds, so none is lost.
//   process(msg)        once per message; returns process_result (or void = ok). An exception
//                       counts as failed and retires the worker (its state may be broken).
//                       process_result::stop_worker retires it after this message (the seed's
//                       io.EOF); a replacement starts if backlog remains.
//   after()             exactly once for every before() that succeeded, when the worker stops for
//                       any reason (idle, stop_worker, exception, close, abort). Exceptions from
//                       it are reported and swallowed.
//
// Scaling rule (folly's): after a message is accepted, if the queue holds more messages than
// there are idle workers waiting for them, and fewer than max_workers exist, one worker starts.
// So a backlog grows the pool one worker per unserved message up to max_workers, and a trickle
// that idle workers absorb starts none. A worker idle for idle_timeout retires if more than
// min_workers exist; the decision is made under the queue lock, so a message that arrives as it
// retires either sees it idle (and wakes it) or sees it gone (and starts another).
//
// Idle workers block in a timed wait (workers at min_workers in an untimed one): an idle pool
// uses no CPU.
//
// Invariant: every accepted message is processed exactly once, or counted in not_processed by
// abort(). close() processes every accepted message.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "hit/flow/detail/ring.hpp"
#include "hit/flow/detail/wait.hpp"
#include "hit/flow/scaling_rule.hpp"

namespace hit::flow {

enum class process_result {
  ok,           // processed
  failed,       // processed, and it failed (counted in `failed`); the worker carries on
  stop_worker,  // processed; then this worker stops (after() runs), a replacement starts if needed
};

enum class submit_status {
  ok,       // accepted: it will be processed, or counted by abort()
  closed,   // the pool is closed or aborted: not accepted
  full,     // try_submit, or a submit from one of the pool's own workers: the queue is full
  stopped,  // the caller's stop_token was stopped while waiting for room
  timeout,  // submit_until/submit_for reached its deadline while waiting for room
};

enum class pool_event_kind {
  worker_started,  // a worker thread started; before() comes next
  worker_ready,    // before() succeeded; the worker takes messages ("worker receiving")
  before_failed,   // before() failed or threw; retried after a backoff
  worker_idle,     // the queue is empty; the worker waits ("idle")
  process_failed,  // process() threw; the worker retires
  after_failed,    // after() threw; swallowed
  worker_retired,  // the worker stopped ("worker leaving"); see reason
};

enum class retire_reason {
  none,            // not a retirement event
  idle_timeout,    // idle for idle_timeout with more than min_workers running
  stop_requested,  // process() returned stop_worker
  process_threw,   // process() threw
  closed,          // the pool was closed and the queue is drained
  aborted,         // abort()
};

struct pool_event {
  pool_event_kind kind;
  std::uint64_t worker;     // 1-based id, unique for the pool's lifetime
  retire_reason reason;     // for worker_retired
  std::string_view detail;  // exception text for the *_failed kinds; valid during the call
};

struct pool_options {
  std::size_t min_workers = 0;        // started at construction, never retired for idleness
  std::size_t max_workers = 32;       // >= 1, >= min_workers
  std::size_t queue_capacity = 1024;  // accepted messages waiting for a worker (>= 1)
  std::chrono::milliseconds idle_timeout{1000};
  std::chrono::milliseconds before_backoff{10};        // first retry delay after a failed before
  std::chrono::milliseconds before_backoff_max{1000};  // doubling stops here
  // Most messages one worker takes per lock acquisition. A worker takes backlog / (busy + 1), at
  // least 1, at most this, so a long queue is drained in batches while a short one is shared.
  std::size_t max_batch = 16;
  // Debug hook, called on worker threads without the pool's lock held. It must not block for
  // long and must not call close()/abort() (it may call metrics()).
  std::function<void(const pool_event&)> on_event = {};
};

struct pool_metrics {
  std::size_t workers = 0;            // worker threads alive (starting, busy, idle, backing off)
  std::size_t active = 0;             // busy with messages
  std::size_t idle = 0;               // waiting for a message
  std::size_t queue_depth = 0;        // accepted, not yet taken by a worker
  std::uint64_t submitted = 0;        // accepted
  std::uint64_t processed = 0;        // went through process() (including failures)
  std::uint64_t failed = 0;           // process() returned failed or threw
  std::uint64_t not_processed = 0;    // dropped by abort()
  std::uint64_t started = 0;          // worker threads started
  std::uint64_t retired = 0;          // worker threads finished
  std::uint64_t before_failures = 0;  // failed before() calls
};

// What close() and abort() report once every worker has stopped.
struct shutdown_report {
  std::uint64_t submitted = 0;
  std::uint64_t processed = 0;
  std::uint64_t failed = 0;
  std::uint64_t not_processed = 0;  // 0 after close(); what abort() dropped otherwise
};

template <class W>
concept pool_worker = requires(W& w, typename W::message_type& m, std::stop_token st) {
  typename W::message_type;
  w.before(st);
  w.process(m);
  w.after();
};

namespace detail {
// The pool whose worker runs on this thread, so that a submit from inside a worker never blocks
// on its own pool (which could deadlock when every worker does it at once).
inline thread_local const void* current_pool = nullptr;
}  // namespace detail

template <pool_worker Worker>
class elastic_pool {
 public:
  using message_type = typename Worker::message_type;
  using factory = std::function<Worker()>;
  using time_point = std::chrono::steady_clock::time_point;

  // Starts min_workers workers. make_worker is called on each new worker's thread.
  elastic_pool(pool_options opt, factory make_worker)
      : opt_(std::move(opt)),
        rule_{opt_.min_workers, opt_.max_workers, opt_.idle_timeout},
        make_(std::move(make_worker)),
        queue_(opt_.queue_capacity) {
    if (!rule_.valid() || opt_.queue_capacity == 0)
      throw std::invalid_argument("elastic_pool: need 1 <= max_workers, min <= max, capacity >= 1");
    opt_.max_batch = std::max<std::size_t>(opt_.max_batch, 1);
    std::lock_guard<std::mutex> g(mu_);
    for (std::size_t i = 0; i < rule_.min; ++i) spawn_locked_();
  }
  elastic_pool(const elastic_pool&) = delete;
  elastic_pool& operator=(const elastic_pool&) = delete;

  // Drains like close(). Must not run on one of the pool's workers.
  ~elastic_pool() { close(); }

  // Any thread. Blocks while the queue is full (backpressure). On anything but ok the message
  // is not accepted and `msg` is left untouched. From one of this pool's own workers it never
  // blocks: a full queue returns `full` (a worker waiting for room that only workers can make
  // could deadlock the pool).
  submit_status submit(message_type&& msg, std::stop_token st = {}) {
    return submit_impl_(msg, st, nullptr, true);
  }
  // Any thread, never blocks: ok, closed or full.
  submit_status try_submit(message_type&& msg) { return submit_impl_(msg, {}, nullptr, false); }
  // Any thread. Like submit, but returns timeout at the deadline.
  submit_status submit_until(message_type&& msg, time_point deadline, std::stop_token st = {}) {
    return submit_impl_(msg, st, &deadline, true);
  }
  template <class Rep, class Period>
  submit_status submit_for(message_type&& msg, std::chrono::duration<Rep, Period> d,
                           std::stop_token st = {}) {
    return submit_until(std::move(msg),
                        std::chrono::steady_clock::now() +
                            std::chrono::duration_cast<std::chrono::steady_clock::duration>(d),
                        st);
  }

  // Any thread but the pool's workers. Stops accepting (blocked submitters return closed), lets
  // the workers process every accepted message, then waits until each has run after() and
  // exited. Idempotent; concurrent callers all wait. Blocks as long as messages remain and no
  // worker can start (before() failing forever): abort() from another thread ends that.
  shutdown_report close() { return shutdown_(false); }

  // Any thread but the pool's workers. Stops accepting, lets each worker finish the message in
  // its hands, then stops them all (after() still runs) and returns how many accepted messages
  // were not processed. Idempotent; may follow or interrupt a close().
  shutdown_report abort() { return shutdown_(true); }

  // Any thread; a consistent snapshot taken under the lock. processed/failed lag by at most
  // one batch per busy worker.
  [[nodiscard]] pool_metrics metrics() const {
    std::lock_guard<std::mutex> g(mu_);
    pool_metrics m = m_;
    m.workers = workers_;
    m.idle = idle_;
    m.active = busy_;
    m.queue_depth = queue_.size();
    return m;
  }

 private:
  submit_status submit_impl_(message_type& msg, const std::stop_token& st,
                             const time_point* deadline, bool block) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (closed_) return submit_status::closed;
      if (queue_.size() < opt_.queue_capacity) {
        push_locked_(msg);
        return submit_status::ok;
      }
      if (!block || detail::current_pool == this) return submit_status::full;
      if (st.stop_requested()) return submit_status::stopped;
    }
    detail::stop_wake wake(st, detail::cv_waker{&mu_, &not_full_, nullptr});
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (closed_) return submit_status::closed;
      if (queue_.size() < opt_.queue_capacity) {
        push_locked_(msg);
        return submit_status::ok;
      }
      // No wake-up to pass on when leaving here: the queue is full (checked just above, under
      // the same lock), so no other submitter could have used one.
      if (st.stop_requested()) return submit_status::stopped;
      ++submit_waiters_;
      bool timed_out = false;
      if (deadline != nullptr) {
        timed_out = not_full_.wait_until(lk, *deadline) == std::cv_status::timeout;
      } else {
        not_full_.wait(lk);
      }
      --submit_waiters_;
      if (timed_out && !closed_ && queue_.size() >= opt_.queue_capacity) {
        return submit_status::timeout;
      }
    }
  }

  void push_locked_(message_type& msg) {
    queue_.push_back(std::move(msg));
    ++m_.submitted;
    wake_idle_locked_();
    ensure_workers_locked_();
  }

  // Wakes an idle worker unless those already woken will take the backlog: a futex wake per
  // message would cost more than the message (each woken worker takes up to max_batch).
  void wake_idle_locked_() {
    if (idle_ > waking_ && queue_.size() > waking_ * opt_.max_batch) {
      ++waking_;
      not_empty_.notify_one();
    }
  }

  // The scaling rule (flow::scaling_rule): start one when the backlog exceeds what the idle
  // workers will take. One at a time: each submit adds one message.
  void ensure_workers_locked_() {
    const std::size_t unserved = queue_.size() > idle_ ? queue_.size() - idle_ : 0;
    if (!aborted_ && rule_.to_start(unserved, workers_) > 0) spawn_locked_();
  }

  void spawn_locked_() {
    reap_locked_();
    const std::uint64_t id = ++next_id_;
    ++workers_;
    try {
      threads_.reserve(threads_.size() + 1);  // so that push_back cannot throw a live thread away
      threads_.push_back(slot{std::thread([this, id] { run_(id); }), false});
    } catch (...) {
      // Out of threads: the workers that exist will carry the backlog.
      --workers_;
      return;
    }
    ++m_.started;
  }

  // Joins threads that have announced their exit. Their last step after announcing is to
  // release the lock, so the join is short.
  void reap_locked_() {
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (it->exited) {
        it->thread.join();
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void emit_(pool_event_kind kind, std::uint64_t id, retire_reason reason = retire_reason::none,
             std::string_view detail = {}) {
    if (opt_.on_event) opt_.on_event(pool_event{kind, id, reason, detail});
  }

  static std::string what_(std::exception_ptr e) {
    try {
      std::rethrow_exception(std::move(e));
    } catch (const std::exception& ex) {
      return ex.what();
    } catch (...) {
      return "unknown exception";
    }
  }

  // Runs before() until it succeeds. Returns false when the worker should leave instead
  // (abort, or nothing left to do for it).
  bool start_worker_(std::unique_ptr<Worker>& w, std::uint64_t id, retire_reason& why) {
    auto backoff = opt_.before_backoff;
    for (;;) {
      std::string failure;
      try {
        w = std::make_unique<Worker>(make_());
        if constexpr (std::is_same_v<decltype(w->before(stop_.get_token())), bool>) {
          if (w->before(stop_.get_token())) return true;
          failure = "before() returned false";
        } else {
          w->before(stop_.get_token());
          return true;
        }
      } catch (...) {
        failure = what_(std::current_exception());
      }
      w.reset();
      {
        std::lock_guard<std::mutex> g(mu_);
        ++m_.before_failures;
      }
      emit_(pool_event_kind::before_failed, id, retire_reason::none, failure);
      if (!detail::sleep_until(std::chrono::steady_clock::now() + backoff, stop_.get_token())) {
        why = retire_reason::aborted;
        return false;
      }
      backoff = std::min(backoff * 2, opt_.before_backoff_max);
      std::lock_guard<std::mutex> g(mu_);
      if (aborted_) {
        why = retire_reason::aborted;
        return false;
      }
      if (queue_.empty() && (closed_ || rule_.may_retire(workers_))) {
        why = closed_ ? retire_reason::closed : retire_reason::idle_timeout;
        return false;
      }
    }
  }

  void run_(std::uint64_t id) {
    detail::current_pool = this;
    emit_(pool_event_kind::worker_started, id);
    std::unique_ptr<Worker> w;  // on the heap: g++ 12 misreads std::optional<Worker> here
    retire_reason why = retire_reason::closed;
    if (start_worker_(w, id, why)) {
      emit_(pool_event_kind::worker_ready, id);
      why = serve_(*w, id);
      try {
        w->after();
      } catch (...) {
        emit_(pool_event_kind::after_failed, id, retire_reason::none,
              what_(std::current_exception()));
      }
      w.reset();
    }
    emit_(pool_event_kind::worker_retired, id, why);
    std::lock_guard<std::mutex> g(mu_);
    --workers_;
    ++m_.retired;
    // Backlog left by a worker that stopped itself must not wait for the next submit, and a
    // worker that stopped itself is replaced when the pool falls below min_workers.
    if (!aborted_ && !closed_ && workers_ < rule_.min) {
      spawn_locked_();
    } else if (!aborted_ && !queue_.empty()) {
      if (idle_ > 0) {
        ++waking_;
        not_empty_.notify_one();
      } else if (rule_.to_start(queue_.size(), workers_) > 0) {
        spawn_locked_();
      }
    }
    for (auto& s : threads_) {
      if (s.thread.get_id() == std::this_thread::get_id()) s.exited = true;
    }
    all_exited_.notify_all();
  }

  // The worker's message loop. Returns why it stops.
  retire_reason serve_(Worker& w, std::uint64_t id) {
    std::vector<message_type> batch;
    batch.reserve(opt_.max_batch);
    std::uint64_t done = 0;
    std::uint64_t failed = 0;
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      if (aborted_) return retire_reason::aborted;
      if (!queue_.empty()) {
        // A fair share among the workers already busy and this one (not the idle ones, which
        // would make batches tiny when many wait), so that slow messages are spread out; whatever
        // is left wakes the next idle worker (woken workers pass the wake-up on).
        const std::size_t share = std::clamp<std::size_t>(
            queue_.size() / std::max<std::size_t>(busy_ + 1, 1), 1, opt_.max_batch);
        for (std::size_t i = 0; i < share && !queue_.empty(); ++i)
          batch.push_back(queue_.pop_front());
        for (std::size_t i = 0; i < submit_waiters_ && i < batch.size(); ++i)
          not_full_.notify_one();
        if (!queue_.empty()) wake_idle_locked_();
        ++busy_;
        lk.unlock();
        std::size_t i = 0;
        done = failed = 0;
        retire_reason stop = retire_reason::none;
        std::string failure;
        for (; i < batch.size(); ++i) {
          if (aborted_flag_.load(std::memory_order_relaxed)) break;
          process_result r = process_result::ok;
          try {
            if constexpr (std::is_void_v<decltype(w.process(batch[i]))>) {
              w.process(batch[i]);
            } else {
              r = w.process(batch[i]);
            }
          } catch (...) {
            r = process_result::failed;
            stop = retire_reason::process_threw;
            failure = what_(std::current_exception());
          }
          ++done;
          if (r == process_result::failed) ++failed;
          if (r == process_result::stop_worker) stop = retire_reason::stop_requested;
          if (stop != retire_reason::none) {
            ++i;
            break;
          }
        }
        if (stop == retire_reason::process_threw) {
          emit_(pool_event_kind::process_failed, id, retire_reason::none, failure);
        }
        lk.lock();
        --busy_;
        m_.processed += done;
        m_.failed += failed;
        const std::size_t left = batch.size() - i;
        if (left > 0) {
          if (aborted_) {
            m_.not_processed += left;
          } else {
            // Give them back at the head, in order, for the next worker.
            for (std::size_t k = batch.size(); k > i; --k)
              queue_.push_front(std::move(batch[k - 1]));
            wake_idle_locked_();
          }
        }
        batch.clear();
        if (aborted_) return retire_reason::aborted;
        if (stop != retire_reason::none) return stop;
        continue;
      }
      if (closed_) return retire_reason::closed;
      // Idle.
      if (opt_.on_event) {
        lk.unlock();
        emit_(pool_event_kind::worker_idle, id);
        lk.lock();
        if (!queue_.empty() || closed_ || aborted_) continue;
      }
      ++idle_;
      if (rule_.may_retire(workers_)) {
        const auto deadline = std::chrono::steady_clock::now() + rule_.idle_timeout;
        bool timed_out = false;
        while (queue_.empty() && !closed_ && !aborted_ && !timed_out) {
          timed_out = not_empty_.wait_until(lk, deadline) == std::cv_status::timeout;
          woke_locked_();
        }
        --idle_;
        // Retire only if there is still nothing to take and the pool stays at or above min;
        // under the lock, so no submit can slip between this check and our departure.
        if (timed_out && queue_.empty() && !closed_ && !aborted_ && rule_.may_retire(workers_)) {
          return retire_reason::idle_timeout;
        }
      } else {
        while (queue_.empty() && !closed_ && !aborted_) {
          not_empty_.wait(lk);
          woke_locked_();
        }
        --idle_;
      }
    }
  }

  // A return from wait() is taken as the wake-up a submit asked for. A spurious or timed-out
  // return may be counted instead of it; the only cost is one extra notify_one later.
  void woke_locked_() {
    if (waking_ > 0) --waking_;
  }

  shutdown_report shutdown_(bool abort) {
    {
      std::lock_guard<std::mutex> g(mu_);
      closed_ = true;
      if (abort && !aborted_) {
        aborted_ = true;
        aborted_flag_.store(true, std::memory_order_relaxed);
      }
      not_full_.notify_all();
      not_empty_.notify_all();
      // Accepted messages need a worker even if every one has retired.
      if (!aborted_ && !queue_.empty() && workers_ == 0) spawn_locked_();
    }
    if (abort) stop_.request_stop();  // interrupts before() and its backoff
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      reap_locked_();
      if (workers_ == 0 && threads_.empty()) break;
      all_exited_.wait(lk);
    }
    if (aborted_ && !queue_.empty()) {
      m_.not_processed += queue_.size();
      queue_.clear();
    }
    return shutdown_report{m_.submitted, m_.processed, m_.failed, m_.not_processed};
  }

  struct slot {
    std::thread thread;
    bool exited;
  };

  pool_options opt_;
  const scaling_rule rule_;  // from opt_: min_workers, max_workers, idle_timeout
  factory make_;
  std::stop_source stop_;                  // requested by abort(); the token before() receives
  std::atomic<bool> aborted_flag_{false};  // lock-free copy of aborted_ for the hot loop

  mutable std::mutex mu_;
  std::condition_variable not_full_;    // submitters wait here
  std::condition_variable not_empty_;   // idle workers wait here
  std::condition_variable all_exited_;  // close()/abort() wait here
  detail::ring<message_type> queue_;    // guarded by mu_
  std::vector<slot> threads_;           // guarded by mu_
  std::size_t workers_ = 0;             // guarded by mu_: threads that have not announced exit
  std::size_t idle_ = 0;                // guarded by mu_
  std::size_t busy_ = 0;                // guarded by mu_
  std::size_t waking_ = 0;              // guarded by mu_: idle workers notified, not yet awake
  std::size_t submit_waiters_ = 0;      // guarded by mu_
  std::uint64_t next_id_ = 0;           // guarded by mu_
  bool closed_ = false;                 // guarded by mu_
  bool aborted_ = false;                // guarded by mu_
  pool_metrics m_;                      // guarded by mu_: the counters
};

}  // namespace hit::flow

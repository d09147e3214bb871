#pragma once
// stage<T>: the output of a pipeline stage (produce, throttle, dispatch) — a channel of T plus
// the threads that feed it and, through them, every stage upstream.
//
// Ownership runs downstream: each stage function takes its input stage by value and keeps it, so
// the last stage owns the whole chain. Destroying a stage requests stop on it and on everything
// upstream, then joins their threads: dropping a pipeline never leaks a thread, even one blocked
// on a full channel.
//
// Cancellation: every stage takes the caller's std::stop_token and also has a stop source of its
// own (requested on destruction or when a user callback throws). A stage that stops early closes
// its input channel, so its producer's next send fails at once, and counts what it leaves behind.
// Every item is therefore either processed or counted in exactly one stage's `not_processed`.
//
// Thread safety: a stage object belongs to one thread (like std::jthread); its output channel may
// be used from any thread.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "hit/flow/channel.hpp"

namespace hit::flow {

// Buffering of a stage's output. The default moves items in batches of up to 256 through a
// channel of 4096: that amortises the lock and, more, the sleep/wake-up of the thread on the
// other side over hundreds of items (1024/64 measured 2.5x slower, docs/flow.md). Consumers take
// a fair share of the backlog, not a whole batch, so short queues are still spread out.
struct stage_options {
  std::size_t capacity = 4096;  // output channel capacity (0 = rendezvous, Go's default)
  std::size_t batch = 256;      // most items moved per lock acquisition (>= 1)
};

// Totals of a whole chain, exact once its threads have finished (collect() joins them first).
struct stage_report {
  std::uint64_t not_processed = 0;    // items that never reached dispatch's function
  std::uint64_t results_dropped = 0;  // results produced but not delivered downstream
  std::exception_ptr error;           // first exception a user callback threw, if any
};

namespace detail {

// Threads, stop source and counters of one stage; owns its upstream core.
class stage_core {
 public:
  stage_core(const std::stop_token& user, std::unique_ptr<stage_core> upstream)
      : upstream_(std::move(upstream)) {
    if (user.stop_possible()) link_.emplace(user, forward_stop{stop_});
  }
  stage_core(const stage_core&) = delete;
  stage_core& operator=(const stage_core&) = delete;
  ~stage_core() {
    stop_.request_stop();
    join();
    // upstream_ is destroyed after this body: stopped and joined in turn, downstream first.
  }

  [[nodiscard]] std::stop_token token() const { return stop_.get_token(); }

  template <class F>
  void spawn(F&& f) {
    threads_.emplace_back([this, fn = std::forward<F>(f)]() mutable {
      try {
        fn(stop_.get_token());
      } catch (...) {
        fail(std::current_exception());
      }
    });
  }

  // Any thread of this stage: records the first error and stops the stage.
  void fail(std::exception_ptr e) {
    {
      std::lock_guard<std::mutex> g(mu_);
      if (!error_) error_ = std::move(e);
    }
    stop_.request_stop();
  }

  void request_stop() { stop_.request_stop(); }

  // Owner thread only. Joins this stage and everything upstream.
  void join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    if (upstream_) upstream_->join();
  }

  // Owner thread, after join(): the chain's totals.
  [[nodiscard]] stage_report report() const {
    stage_report r = upstream_ ? upstream_->report() : stage_report{};
    r.not_processed += not_processed.load(std::memory_order_relaxed);
    r.results_dropped += results_dropped.load(std::memory_order_relaxed);
    std::lock_guard<std::mutex> g(mu_);
    if (error_) r.error = error_;  // the downstream error wins: it is what stopped the chain
    return r;
  }

  std::atomic<std::uint64_t> not_processed{0};
  std::atomic<std::uint64_t> results_dropped{0};

 private:
  struct forward_stop {
    std::stop_source target;
    void operator()() const noexcept { target.request_stop(); }
  };

  std::stop_source stop_;
  std::optional<std::stop_callback<forward_stop>> link_;
  std::vector<std::thread> threads_;
  mutable std::mutex mu_;
  std::exception_ptr error_;  // guarded by mu_
  std::unique_ptr<stage_core> upstream_;
};

// A consumer that stops early: close the input so the producer's next send fails, then count
// what was accepted but will never be taken.
template <class T>
std::uint64_t close_and_drain(channel<T>& in) {
  in.close();
  std::uint64_t n = 0;
  std::vector<T> sink;
  while (in.recv_batch(sink, 256) == channel_status::ok) {
    n += sink.size();
    sink.clear();
  }
  return n;
}

}  // namespace detail

template <class T>
class stage {
 public:
  using value_type = T;

  stage(std::shared_ptr<channel<T>> out, std::unique_ptr<detail::stage_core> core)
      : out_(std::move(out)), core_(std::move(core)) {}
  stage(stage&&) noexcept = default;
  stage& operator=(stage&&) noexcept = default;
  ~stage() = default;  // core_'s destructor stops and joins the chain

  // Owner thread. The channel this stage writes to; it is closed when the stage finishes.
  [[nodiscard]] channel<T>& output() const { return *out_; }
  [[nodiscard]] const std::shared_ptr<channel<T>>& output_ptr() const { return out_; }

  // Owner thread. Stops this stage and everything upstream; does not wait.
  void request_stop() {
    if (core_) core_->request_stop();
  }
  // Owner thread. Waits for this stage and everything upstream to finish, then returns the
  // chain's totals. Blocks until the chain ends by itself, unless stopped.
  stage_report join() {
    if (!core_) return {};
    core_->join();
    return core_->report();
  }

  // For stage functions: hands the chain over to the next stage.
  std::unique_ptr<detail::stage_core> release_core() && { return std::move(core_); }

 private:
  std::shared_ptr<channel<T>> out_;
  std::unique_ptr<detail::stage_core> core_;
};

}  // namespace hit::flow

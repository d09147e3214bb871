#pragma once
// The state one engine thread owns: its io_context, its connections, its summary, its share of
// the request budget and of the rate schedule. Touched only by that thread, except
// `stop_requested` (set by any thread, polled by the loop's sweep) and `published` (relaxed
// stores here, relaxed loads by the progress display). Because no other thread ever touches the
// io_context, it runs with BOOST_ASIO_CONCURRENCY_HINT_UNSAFE: no locks inside Asio.
//
// The loop gives work to its connections through the worker interface below; in the closed
// model it hands each free connection the next request itself, in the open model its
// open_pool does (docs/open-model.md).

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "detail/connection.hpp"
#include "detail/prepared_request.hpp"
#include "detail/tls_context.hpp"
#include "hit/flow/rate_schedule.hpp"
#include "hit/http/load_test.hpp"
#include "hit/stats/summary.hpp"

namespace hit::http::detail {

class open_pool;

// What every loop of a run reads and none writes, built by load_test before the threads start.
struct run_plan {
  std::vector<endpoint_type> endpoints;            // TCP addresses, or one Unix socket's path
  std::optional<asio::ip::address> local_address;  // connect from it (--local-address)
  std::string server_name;                         // TLS: SNI and the certificate's name
  // The run's requests (one, or one per target), and for each its slot in the breakdown by
  // target (summary::by_target, `breakdown` slots; none for a run of one request).
  std::vector<prepared_request> requests;
  std::vector<std::uint32_t> slots;
  std::size_t breakdown = 0;
  // Through a proxy to an https URL: the CONNECT request that opens the tunnel; else empty.
  std::string tunnel;
  std::unique_ptr<tls_context> tls;  // https only
};

struct alignas(64) published_counters {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
  // Stored by the sweep (publish_outcomes), not per request: progress::status_classes and
  // progress::errors_by_kind.
  std::array<std::atomic<std::uint64_t>, stats::status_class_count> status_classes{};
  std::array<std::atomic<std::uint64_t>, stats::error_kind_count> errors_by_kind{};
};

// Live intervals a loop has closed, for the display thread (load_test::take_live_intervals).
struct alignas(64) live_mailbox {
  std::mutex m;
  std::vector<stats::interval_record> closed;  // guarded by m
  std::uint64_t through = 0;                   // guarded by m: intervals before it are closed
  bool finished = false;                       // guarded by m: every interval is closed
  std::chrono::nanoseconds ended{0};           // guarded by m: when finished, the loop's end
};

struct event_loop {
  // Loop `index` of `loops`; `budget`: the most requests it may start.
  event_loop(const load_config& cfg, const run_plan& plan, unsigned index, unsigned loops,
             clock::time_point start, std::uint64_t budget);
  // Completes any operation still pending (only after an exception ended run() early), so that
  // none outlives the connection whose handler memory it uses.
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  // Runs every connection of this loop to the end. Called on the loop's own thread.
  // `connections`: the closed model's share; the open model's floor.
  void run(unsigned connections);
  // Stops sending; in-flight requests finish. On the loop's thread.
  void stop_sending();

  // The worker interface: what a connection tells its loop.
  // Its request is over (its socket may have been closed): it wants the next.
  void worker_free(connection& c);
  // It was opened without a request (open model) and is ready.
  void worker_ready(connection& c);
  // Its connect or handshake failed; `had_request`: the failure was counted against a request.
  // `wait`: the back-off before it asks again (closed model).
  void worker_failed(connection& c, stats::error_kind kind, bool had_request,
                     std::chrono::milliseconds wait);
  // It has ended (closed model); the last one ends the loop.
  void worker_done();
  // A TLS handshake failed, or the server refused the connection right after it (TLS 1.3
  // sends a refusal as an alert on the first read): the first is kept, for the run's message.
  void tls_failed(tls_failure f) {
    if (first_tls_failure.reason.empty()) first_tls_failure = std::move(f);
  }
  // TLS handshakes: at most max_handshakes run on a loop at once; a connection connected
  // beyond them waits (connection::connected) for one to end. 10 000 connections opened
  // together otherwise each hold OpenSSL's handshake state until the loop gets to them, and
  // that peak stays in the process's RSS: 60 KiB a connection at -c 10000, 35.5 KiB with this
  // bound (38 with --no-tls-resume; docs/performance.md). 256 was tried: 35 KiB, but under load
  // only 7 741 of 10 000 connections were up after 14 s; with 1 024 all were, and a distant server
  // (100 ms a handshake) still gets 10 240 handshakes a second from one loop.
  static constexpr unsigned max_handshakes = 1024;
  // A handshake ended (succeeded, failed or timed out): the longest waiting connection, if any,
  // takes its place.
  void handshake_done();
  // The proxy refused a tunnel, or answered CONNECT with something else than HTTP: the first
  // reason is kept, for the run's message.
  void proxy_failed(std::string reason) {
    if (first_proxy_failure.empty()) first_proxy_failure = std::move(reason);
  }

  // Queues an HTTP/2 request to be sent again, once (counted in retries): refused by the
  // server, or on a stale connection. `any_connection`: it may go on any connection, else only
  // on one opened after now. Already resent once: the error `again` instead.
  void resend(in_flight rec, stats::error_kind again, bool any_connection);
  // Whether connection number `number` (0: one about to connect, which will be new) may send
  // the oldest resend; and that resend, taken off the queue.
  [[nodiscard]] bool resend_for(std::uint64_t number) const noexcept {
    return !resends.empty() && (number == 0 || resends.front().refused_at <= number);
  }
  std::optional<in_flight> take_resend(std::uint64_t number);
  // This loop's requests are numbers first, first + step, ... of the run's one sequence over
  // the targets (round robin), and seq_first, seq_first + seq_step, ... of the run's request
  // numbers ({{seq}}: unique across loops; the same as the first when the loop's part of the
  // run is known). Set by load_test::start, before run().
  void aim(std::uint64_t first, std::uint64_t step, std::uint64_t seq_first,
           std::uint64_t seq_step) noexcept {
    cursor_ = static_cast<std::uint32_t>(first % requests.size());
    step_ = static_cast<std::uint32_t>(step % requests.size());
    seq_ = seq_first;
    seq_step_ = seq_step;
  }
  // A new request due at `due`, to the next target (load_config::order).
  in_flight fresh(clock::time_point due) noexcept {
    const auto seq = seq_;
    seq_ += seq_step_;
    return {.due = due, .target = next_target(), .seq = seq};
  }
  // The random state of this loop's templated requests ({{rand}}, {{uuid}}).
  std::uint64_t template_random = 0;
  // The most bytes a templated request of the run renders to (0: none is templated).
  std::size_t template_size = 0;
  // Counts an outcome of `rec`: in the summary, and in its target's breakdown.
  void record_error(stats::error_kind k, const in_flight& rec) noexcept {
    summary.record_error(k);
    if (!summary.by_target.empty()) summary.by_target[slots[rec.target]].record_error(k);
  }
  void record_response(unsigned status, const in_flight& rec, std::uint64_t bytes_in,
                       clock::time_point done) noexcept {
    summary.record_response(status, bytes_in, done - rec.due, done - rec.sent);
    if (!summary.by_target.empty())
      summary.by_target[slots[rec.target]].record_response(status, done - rec.due);
  }
  // Takes the next request to send, if any: its due time (meaningful when paced), or nullopt
  // when this loop's budget, the duration or the schedule is exhausted.
  std::optional<clock::time_point> take_request();
  // Ends the loop: its timers stop, so io.run() returns once the last operation completes.
  void end();
  // Hands the live intervals closed since the last call to the mailbox; `last`: the run has
  // ended, every interval is closed.
  void publish_live(bool last);
  void publish() noexcept {
    published.done.store(summary.requests, std::memory_order_relaxed);
    published.errors.store(summary.errors, std::memory_order_relaxed);
  }
  // The outcome counts, from the sweep and at the loop's end: summing 600 status counters per
  // request would tax the hot path for a figure read every 200 ms.
  void publish_outcomes() noexcept;

  const load_config& cfg;
  const std::vector<endpoint_type>& endpoints;
  const std::optional<asio::ip::address>& local_address;
  const std::string& server_name;
  const std::vector<prepared_request>& requests;
  const std::vector<std::uint32_t>& slots;
  const std::string& tunnel;
  const tls_context* tls;
  asio::io_context io;
  session_cache sessions;  // the TLS session this loop's next connect resumes
  clock::time_point start;
  std::uint64_t budget;  // requests this loop may still start
  std::optional<flow::pacer> pacer;
  bool stopping = false;
  bool ended = false;
  std::size_t preferred_endpoint = 0;  // the endpoint that last accepted a connection
  std::deque<connection> connections;  // stable addresses for the handlers
  // Requests to be sent again before any new one, oldest first. HTTP/2: those the server
  // refused (REFUSED_STREAM, above a GOAWAY's last stream), on a connection opened after the
  // refusal (one that was open then may be about to refuse it too). Pipelined HTTP/1.1: those
  // left unanswered on a lost connection, on any connection. At most the requests in flight
  // here (streams, or pipeline depths).
  std::deque<in_flight> resends;
  unsigned handshakes = 0;  // TLS handshakes running (or a waiting connection woken for one)
  std::deque<connection*> handshake_queue;  // waiting for one, oldest first (may name some
                                            // no longer waiting: skipped)
  std::uint64_t connects = 0;  // connections made so far: the next one's number is connects + 1
  unsigned active = 0;         // closed model: connections not yet finished
  unsigned connected = 0;      // connections ready now (for peak_connections)
  timer_type sweep;            // deadlines and stop requests, checked periodically
  timer_type end_timer;        // the -z duration
  std::chrono::nanoseconds sweep_interval{};
  stats::summary summary;
  tls_failure first_tls_failure;
  std::string first_proxy_failure;
  published_counters published;
  std::unique_ptr<stats::timeline> live;  // cfg.live: the summary's second timeline
  live_mailbox mailbox;
  alignas(64) std::atomic<bool> stop_requested{false};  // any thread -> this loop

 private:
  void arm_sweep();
  std::uint32_t next_target() noexcept;
  std::uint32_t cursor_ = 0;  // round robin: the next target
  std::uint32_t step_ = 1;    // and how far the one after it is (below the target count)
  std::uint64_t rng_ = 0;     // random: splitmix64's state
  std::uint64_t seq_ = 0;     // the next request's number
  std::uint64_t seq_step_ = 1;
  std::unique_ptr<open_pool> pool_;  // open model only
};

}  // namespace hit::http::detail

#pragma once
// The state one engine thread owns: its io_context, its connections, its summary, its share of
// the request budget and of the rate schedule. Touched only by that thread, except
// `stop_requested` (set by any thread, polled by the loop's sweep) and `published` (relaxed
// stores here, relaxed loads by the progress display). Because no other thread ever touches the
// io_context, it runs with BOOST_ASIO_CONCURRENCY_HINT_UNSAFE: no locks inside Asio.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "detail/handler_memory.hpp"
#include "hit/flow/rate_schedule.hpp"
#include "hit/flow/scaling_rule.hpp"
#include "hit/http/load_test.hpp"
#include "hit/http/response_parser.hpp"
#include "hit/stats/summary.hpp"

namespace hit::http::detail {

using clock = std::chrono::steady_clock;
namespace asio = boost::asio;
// Concrete executor types: no type-erased any_io_executor dispatch on the hot path.
using executor = asio::io_context::executor_type;
using socket_type = asio::basic_stream_socket<asio::ip::tcp, executor>;
using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, executor>;

struct event_loop;

// One connection: a worker that connects (before), runs requests one at a time (process) and
// closes (after). A chain of completion handlers, one operation in flight (two only while a
// request too large for one write is read from as it is written); its buffers and its handler
// memory are allocated once, when the run starts. See connection.cpp.
class connection {
 public:
  explicit connection(event_loop& l);
  // Closed model: take requests from the loop until there are none.
  void start() { next(); }
  // Open model: connect without a request (the loop calls connection_ready when done).
  void open();
  // Open model: send this request now (connecting first if the socket is closed).
  void run(clock::time_point due);
  [[nodiscard]] bool is_open() const { return socket_.is_open(); }
  // Open model: closes an idle connection (the worker's `after`).
  void close() { close_socket(); }
  clock::time_point idle_since{};
  // Open model: the connection joins the idle list (its next request checks for bytes the
  // server sent meanwhile).
  void went_idle(clock::time_point now) {
    idle_since = now;
    waited_ = true;
  }
  // Called by the loop's sweep: closes the socket if the current connect or request is past its
  // deadline, which completes the pending operation with an error counted as a timeout.
  void expire(clock::time_point now);
  // Ends a pacing or back-off wait early (the loop is stopping).
  void wake() { timer_.cancel(); }

 private:
  void next();
  void start_request();
  void begin_connect();
  void connect_next();
  void on_connect(const boost::system::error_code& ec);
  void send();
  bool quiet_while_idle();
  void write_some();
  void on_written(const boost::system::error_code& ec, std::size_t n);
  void parse_or_read();
  void read_some();
  void settle();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void complete();
  void fail(stats::error_kind kind);
  [[nodiscard]] bool stale(const boost::system::error_code& ec) const;
  void resend();
  void finish();
  void close_socket();
  template <class F>
  auto bind(F&& f);

  event_loop& loop_;
  socket_type socket_;
  timer_type timer_;  // pacing and reconnect back-off waits
  response_parser parser_;
  std::vector<char> buffer_;  // received bytes; [0, buffered_) are not parsed yet
  std::size_t buffered_ = 0;
  std::size_t written_ = 0;
  std::uint64_t bytes_in_ = 0;
  std::size_t attempt_ = 0;  // endpoint being tried by the current connect
  clock::time_point due_{};
  clock::time_point sent_{};
  clock::time_point deadline_ = clock::time_point::max();  // of the current connect or request
  bool timed_out_ = false;
  bool has_request_ = false;  // a request is assigned (false while only connecting)
  bool connected_ = false;    // the socket completed a connect (for connections_closed)
  bool retried_ = false;      // the current request was already resent once
  bool writing_ = false;      // a write of the current request is pending
  bool reading_ = false;      // a read for the current request is pending
  bool over_ = false;         // the request has its result; waiting for the other operation
  bool resend_ = false;       // with over_: resend the request (stale) instead of the next one
  boost::system::error_code write_error_;  // a write that failed while a read was pending
  bool waited_ = false;                    // the connection sat idle since its last request
  std::uint64_t served_ = 0;               // responses on this socket since it connected
  std::chrono::milliseconds backoff_{0};
  handler_memory memory_;
};

struct alignas(64) published_counters {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
};

struct event_loop {
  // Loop `index` of `loops`; `budget`: the most requests it may start.
  event_loop(const load_config& cfg, const std::vector<asio::ip::tcp::endpoint>& endpoints,
             unsigned index, unsigned loops, clock::time_point start, std::uint64_t budget);
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
  // Closed model: a connection has ended; the last one ends the loop.
  void connection_done();

  // Open model: the elastic pool of connections, run on this loop (docs/open-model.md).
  // A connection finished its request (its socket may have been closed).
  void connection_free(connection& c);
  // A connection opened without a request is ready.
  void connection_ready(connection& c);
  // A connect failed; `had_request`: the failure was already counted against a request.
  void connection_failed(connection& c, stats::error_kind kind, bool had_request);

  // Takes the next request to send, if any: its due time (meaningful when paced), or nullopt
  // when this loop's budget, the duration or the schedule is exhausted.
  std::optional<clock::time_point> take_request();
  void publish() noexcept {
    published.done.store(summary.requests, std::memory_order_relaxed);
    published.errors.store(summary.errors, std::memory_order_relaxed);
  }

  const load_config& cfg;
  const std::vector<asio::ip::tcp::endpoint>& endpoints;
  asio::io_context io;
  clock::time_point start;
  std::uint64_t budget;  // requests this loop may still start
  std::optional<flow::pacer> pacer;
  bool stopping = false;
  std::size_t preferred_endpoint = 0;  // the endpoint that last accepted a connection
  std::deque<connection> connections;  // stable addresses for the handlers
  unsigned active = 0;                 // closed model: connections not yet finished
  unsigned connected = 0;              // sockets connected now (for peak_connections)
  timer_type sweep;                    // deadlines and stop requests, checked periodically
  timer_type end_timer;                // the -z duration
  std::chrono::nanoseconds sweep_interval{};
  stats::summary summary;
  published_counters published;
  alignas(64) std::atomic<bool> stop_requested{false};  // any thread -> this loop

 private:
  void arm_sweep();
  // Open model.
  void dispatch();
  void assign();
  void open_one();
  void retire_idle(clock::time_point now);
  void maybe_end();
  clock::time_point take_backlog();
  // Items of this loop's stride due before `now` (and before -z) not yet in the backlog.
  [[nodiscard]] std::uint64_t due_untaken(clock::time_point now) const;

  bool open_model_;
  unsigned stride_;                  // loops in the run: this loop takes every stride-th item
  timer_type dispatch_timer_;        // fires when the next request is due
  std::vector<connection*> idle_;    // oldest first; reuse takes the newest
  std::vector<connection*> spare_;   // closed connection objects, reused before new ones
  std::uint64_t backlog_first_ = 0;  // global index of the oldest due, unsent request
  std::uint64_t backlog_ = 0;        // due, unsent requests (consecutive items of the stride)
  std::uint64_t late_pending_ = 0;   // of those, already counted as late
  unsigned open_ = 0;                // connections open or opening
  unsigned connecting_ = 0;          // of which opening without a request
  flow::scaling_rule rule_;  // this loop's share of --workers and --max-workers; --idle-timeout
  bool schedule_done_ = false;
  bool ended_ = false;
};

}  // namespace hit::http::detail

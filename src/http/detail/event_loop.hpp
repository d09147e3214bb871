#pragma once
// The state one engine thread owns: its io_context, its connections, its summary, its share of
// the request budget and of the rate schedule. Touched only by that thread, except `published`
// (relaxed stores here, relaxed loads by the progress display) and `io` (stop requests are
// posted to it).

#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "hit/flow/rate_schedule.hpp"
#include "hit/http/load_test.hpp"
#include "hit/http/response_parser.hpp"
#include "hit/stats/summary.hpp"

namespace hit::http::detail {

using clock = std::chrono::steady_clock;
namespace asio = boost::asio;

struct event_loop;

// One connection: a worker that connects (before), runs requests one at a time (process) and
// closes (after). Its buffers are allocated once, when the run starts.
struct connection {
  explicit connection(event_loop& l);

  event_loop& loop;
  asio::ip::tcp::socket socket;
  asio::steady_timer timer;  // pacing and reconnect back-off waits
  response_parser parser;
  std::vector<char> buffer;  // received bytes; [0, buffered) are not parsed yet
  std::size_t buffered = 0;
  clock::time_point deadline = clock::time_point::max();  // of the current connect or request
  bool timed_out = false;  // set by the loop's sweep when `deadline` passed
  std::chrono::milliseconds backoff{0};
};

struct alignas(64) published_counters {
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> errors{0};
};

struct event_loop {
  event_loop(const load_config& cfg, const std::vector<asio::ip::tcp::endpoint>& endpoints,
             unsigned index, unsigned loops, clock::time_point start);

  // Runs every connection of this loop to the end. Called on the loop's own thread.
  void run(unsigned connections);
  // Stops sending; in-flight requests finish. Runs on the loop's thread (post it).
  void stop_sending();

  // Takes the next request to send, if any: its intended start time, or nullopt when this
  // loop's budget, the duration or the schedule is exhausted.
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
  std::deque<connection> connections;  // stable addresses for the coroutines
  unsigned active = 0;                 // connections whose coroutine is still running
  asio::steady_timer sweep;            // request/connect timeouts, checked periodically
  asio::steady_timer end_timer;        // the -z duration
  stats::summary summary;
  published_counters published;
};

asio::awaitable<void> run_connection(connection& c);

}  // namespace hit::http::detail

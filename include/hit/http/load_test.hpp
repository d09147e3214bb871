#pragma once
// load_test: the HTTP engine (HTTP/1.1 or HTTP/2, over TCP or TLS). T threads, each running its own
// event loop (an Asio io_context with a single-thread concurrency hint) over its share of the
// connections; each loop owns its connections, counters and histograms, and nothing is shared on
// the hot path. The per-loop summaries are merged after join.
//
// One connection is one worker with a lifecycle (hit::flow's before / process / after):
// connect before the first request (TCP_NODELAY), send and receive one request at a time, close
// at the end. A connection that breaks is counted by error kind and replaced.
//
//   load_test t(cfg);
//   if (auto r = t.prepare_tls(); !r) { ... }           // https: certificates, ciphers
//   if (auto r = t.resolve(); !r) { ... r.error() ... }   // once per run
//   t.start();
//   while (!t.wait_for(100ms)) show(t.current());   // or request_stop() on Ctrl-C
//   stats::summary s = t.join();

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hit/flow/rate_schedule.hpp"
#include "hit/http/http_version.hpp"
#include "hit/http/request.hpp"
#include "hit/http/tls.hpp"
#include "hit/http/url.hpp"
#include "hit/result.hpp"
#include "hit/stats/summary.hpp"

namespace hit::http {

// Closed model: `connections` connections each send a request, wait for its response, send the
// next (optionally paced by `rate`). Open model: requests start on the `rate` schedule whatever
// the server does, each on an idle connection; connections are opened on demand between
// `min_connections` and `max_connections` and retired after `idle_timeout` (the elastic pool's
// scaling rule, run on the event loops). See docs/open-model.md.
enum class load_model { closed, open };

// One request of several (--targets): its URL, of the run's origin (load_config::target's
// scheme, host and port); its method, headers and body; and the name the breakdown by target
// counts it under (targets of one name are counted together).
struct request_target {
  url where;
  request_spec request;
  std::string name;
};

// Which target each request goes to: each event loop cycles through them (starting at a
// different one), or picks at random (a per-loop generator seeded from load_config::seed).
enum class target_order { round_robin, random };

// Which addresses of the host to connect to (-4, -6).
enum class ip_family { any, v4, v6 };

struct load_config {
  url target;  // where: scheme (http, https), host, port, request target
  // Where to connect when not the URL's host and port (--connect-to): the URL still gives the
  // Host header and the TLS name. Empty: the URL's.
  std::string connect_host;
  std::string connect_port;
  ip_family family = ip_family::any;  // only addresses of this family (-4, -6)
  // Connect from this IP address (--local-address), as a literal; empty: the kernel picks.
  std::string local_address;
  // Connect to this Unix-domain socket instead of a host (--unix-socket); the URL still gives
  // the Host header, and over https the TLS name. Excludes connect_host, family, local_address.
  std::string unix_socket;
  // Through a forward HTTP proxy (-x): connect to it instead. An https URL is reached through a
  // tunnel the proxy opens on CONNECT host:port, then TLS end to end; an http URL's requests go
  // to the proxy in absolute form. The proxy resolves the URL's host, this run only the proxy's.
  // Excludes connect_host and unix_socket; http:// with HTTP/2 (h2c) is not supported.
  std::string proxy_host;
  std::string proxy_port;
  request_spec request;  // what: method, headers, body (the engine builds the bytes)
  // Several requests instead of `request` (--targets): each request sent is one of them, in
  // `order`. The summary breaks the results down by name (stats::summary::by_target, named by
  // target_names()). Every target's bytes are built once, before the run.
  std::vector<request_target> targets;
  // Render {{...}} placeholders per request (request_template, --template): in the URL's path
  // and query (parse it with request_template::parse_url), header values and the body, of
  // `request` or of each target. HTTP/1.1 only. Precondition: request_template::make accepts
  // each such request (the caller has checked; load_test throws std::invalid_argument if not).
  bool templates = false;
  target_order order = target_order::round_robin;
  std::uint64_t seed = 0;  // random order: a run with the same seed and loops repeats its choices
  tls_options tls;         // https only
  bool keepalive = true;   // false: every request on a new connection (Connection: close)
  http_version http = http_version::http1_1;
  // HTTP/2: the most streams in flight per connection (the server's
  // SETTINGS_MAX_CONCURRENT_STREAMS lowers it); closed-model concurrency is connections x
  // streams, the open model's cap max_connections x streams.
  unsigned streams = 1;
  unsigned window_bits = 30;  // HTTP/2 receive windows, stream and connection: 2^bits - 1
  // HTTP/1.1: the most requests in flight per connection, written without waiting for the
  // answers before them (pipelining; 1: one at a time). Above 1: closed model without a rate,
  // HTTP/1.1 only, keep-alive (load_test throws std::invalid_argument otherwise).
  unsigned pipeline = 1;
  std::uint64_t requests = 0;  // total to send; 0 = no limit (then `duration` is set)
  // Stop sending after this (0 = no limit). Requests in flight then get at most `timeout`; in
  // the open model, due requests still waiting for a connection are counted in not_sent.
  std::chrono::nanoseconds duration{0};
  load_model model = load_model::closed;
  unsigned connections = 50;  // closed model: the connections; open model: unused
  unsigned threads = 1;       // event loops; the engine never uses more loops than connections
  // Per request, and per connect; enforced by a sweep every timeout/10, at best every 1 ms, so
  // a timeout below 1 ms is not kept (cli refuses it).
  std::chrono::nanoseconds timeout{std::chrono::seconds(20)};
  // When set, request k is due at schedule.due(k) after the start (a global rate split over the
  // loops exactly, see flow::pacer), and latency runs from that due time, not from the send.
  // Required by the open model.
  std::optional<flow::rate_schedule> rate;
  // Scale-out (docs/distributed.md): this process is shard `shard_index` of `shard_count`. A
  // paced run takes requests shard_index, shard_index + shard_count, ... of `rate`, the whole
  // run's schedule, so the shards on any number of machines follow it together exactly;
  // `requests` is this shard's share of them (cli splits -n, -c and the pool's bounds).
  // Precondition: shard_index < shard_count.
  unsigned shard_index = 0;
  unsigned shard_count = 1;
  // Unpaced, with `requests`: the number of this shard's first request in the whole run's
  // count (the requests of the shards before it), where its part of the round robin over
  // `targets` starts.
  std::uint64_t first_request = 0;
  // Open model only.
  unsigned min_connections = 10;     // opened at the start and kept however idle
  unsigned max_connections = 10000;  // cap; a due request that finds none idle then waits (late)
  std::chrono::nanoseconds idle_timeout{std::chrono::seconds(5)};
  // When above 0: the summary keeps a timeline of intervals this long (stats::timeline), for
  // results files and live intervals. Costs a second histogram record per response.
  std::chrono::nanoseconds interval{0};
  // With `interval`: also keep intervals for take_live_intervals() as the run goes.
  bool live = false;
};

// Snapshot of a run in progress, for a live display and for thresholds watched during the run
// (cli's --abort-on-threshold).
struct progress {
  std::uint64_t done = 0;    // completed requests
  std::uint64_t errors = 0;  // of which failed
  std::chrono::nanoseconds elapsed{0};

  // Completed requests by outcome, as each loop published them at its last deadline sweep (at
  // most 50 ms ago, so they may lag `done`): responses by status class, and errors by kind.
  // Each count only grows, and the loop's total is their sum (outcomes()), so a snapshot is a
  // lower bound of every later value and a ratio computed from it is consistent with its total:
  // what deciding that a threshold is already lost needs.
  std::array<std::uint64_t, stats::status_class_count> status_classes{};  // stats::status_class
  std::array<std::uint64_t, stats::error_kind_count> errors_by_kind{};

  // The requests the outcome counts cover: their sum.
  [[nodiscard]] std::uint64_t outcomes() const noexcept {
    std::uint64_t n = 0;
    for (const auto c : status_classes) n += c;
    for (const auto c : errors_by_kind) n += c;
    return n;
  }
};

class load_test {
 public:
  explicit load_test(load_config cfg);
  ~load_test();  // request_stop() and join() if still running
  load_test(const load_test&) = delete;
  load_test& operator=(const load_test&) = delete;

  // https: builds the TLS context (trust store, client certificate and key, protocol bounds,
  // ciphers). Fails with one line naming the file or setting at fault. Nothing for http. Call
  // before start(), from the owning thread.
  result<void> prepare_tls();

  // Resolves the host (or connect_host, or proxy_host) once for the whole run (the time it took is
  // the summary's `dns`), keeping the addresses of `family` and of local_address's family, and
  // checks that local_address can be bound. Blocking. Fails with one line: the resolver's message,
  // no address of the family, or why the local address cannot be used. Call before start(), from
  // the owning thread.
  result<void> resolve();

  // Starts the event-loop threads and returns. Call once, after a successful resolve(). The
  // loop threads block SIGPIPE (a TLS write to a reset connection would raise it).
  void start();

  // Stops sending new requests; requests in flight finish or time out. Any thread, any number
  // of times, once start() has returned (not from a signal handler). The loops notice within
  // 50 ms (their deadline sweep reads the flag; the open model's dispatcher yields to the loop
  // every few thousand due requests, so it cannot hold the loop past a stop).
  void request_stop();

  // Waits up to `d` for every loop to finish; true when they have. Thread-safe.
  bool wait_for(std::chrono::nanoseconds d);

  // A recent view of the counters. Any thread once start() has returned; lock-free, and free
  // for the loops: each publishes its own counters with relaxed stores to a cache line of its own.
  [[nodiscard]] progress current() const;

  // The wall-clock time of start() (for results files: shards align by it). After start().
  [[nodiscard]] std::chrono::system_clock::time_point started_at() const;

  // Live intervals (cfg.live): the intervals every loop has closed since the last call, merged
  // across the loops, oldest first, gaps included (as empty records). A loop closes an interval
  // within one sweep (at most 50 ms) of its end; after the loops have finished, the rest. One
  // thread at a time (the display's); the loops pay one lock per interval, not per request.
  struct live_intervals {
    std::vector<stats::interval_record> closed;
    // Once every loop has finished: the run's length (where the last interval was cut short).
    std::optional<std::chrono::nanoseconds> ended;
  };
  live_intervals take_live_intervals();

  // Waits for the loops and returns the merged summary. Call once, from the owning thread.
  stats::summary join();

  // After join: why the first failed TLS handshake failed, in OpenSSL's words ("certificate
  // verify failed: self-signed certificate"), with a hint when an option would help; empty
  // when none failed.
  [[nodiscard]] tls_failure first_tls_failure() const;

  // The breakdown's names (summary::by_target, index for index): the targets' names in order
  // of first appearance, the first max_named_targets of them, then "other" pooling the rest
  // when there are more. Empty for a run of one request (no targets).
  static constexpr std::size_t max_named_targets = 1000;
  [[nodiscard]] const std::vector<std::string>& target_names() const;

  // After join: what the proxy answered the first CONNECT it refused ("403 Forbidden"), or why
  // its answer was not understood; empty when none failed.
  [[nodiscard]] std::string first_proxy_failure() const;

 private:
  result<void> resolve_unix_socket();
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hit::http

#pragma once
// summary: everything one event loop (or one flow worker) learned about the requests it ran.
// Each thread owns one and records into it without locks; after join the per-thread summaries
// are merged into one, which the report reads. Memory is fixed: nothing grows with the number
// of requests.
//
// Thread safety: none; one owner thread, merge after join.

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "hit/stats/error_kind.hpp"
#include "hit/stats/histogram.hpp"
#include "hit/stats/status_class.hpp"
#include "hit/stats/target_stats.hpp"
#include "hit/stats/timeline.hpp"

namespace hit::stats {

// HTTP/2 runs: what the connections' sessions counted (all zero over HTTP/1.1).
struct http2_counters {
  std::uint64_t connections = 0;  // connections that spoke HTTP/2
  std::uint64_t goaways = 0;      // GOAWAY frames received
  // Response header bytes as sent (HEADERS frame payloads, HPACK-compressed) and decoded (the
  // names' and values' lengths): their ratio is HPACK's saving (h2load's "space savings").
  std::uint64_t header_bytes_wire = 0;
  std::uint64_t header_bytes_decoded = 0;
  std::uint64_t peak_streams = 0;  // most streams in flight on one connection (max over parts)
  // The most streams a connection may open: --streams, lowered by the server's
  // SETTINGS_MAX_CONCURRENT_STREAMS (the lowest any connection saw; 0: none seen).
  std::uint64_t stream_limit = 0;

  void merge(const http2_counters& o) noexcept;
};

struct summary {
  // One request that got a complete response. `latency` runs from the request's intended start
  // (its scheduled time under a rate, its send time otherwise); `service` from its actual send.
  void record_response(unsigned status, std::uint64_t bytes_in,
                       std::chrono::nanoseconds from_intended,
                       std::chrono::nanoseconds service) noexcept {
    ++requests;
    ++status_counts[status < status_counts.size() ? status : 0];
    if (status >= 200 && status < 400) ++successes;
    bytes += bytes_in;
    latency.record(from_intended);
    service_time.record(service);
    timeline.record_response(status, bytes_in, from_intended);
    if (live) live->record_response(status, bytes_in, from_intended);
  }
  // One request that failed without a usable response.
  void record_error(error_kind k) noexcept {
    ++requests;
    ++errors;
    ++error_counts[static_cast<std::size_t>(k)];
    timeline.record_error(k);
    if (live) live->record_error(k);
  }
  // The clock of the timelines: `since_start` is the time since the run's start.
  void advance(std::chrono::nanoseconds since_start) noexcept {
    timeline.advance(since_start);
    if (live) live->advance(since_start);
  }

  // Adds everything `other` counted. Durations: the merged run spans both. Timelines are
  // merged interval by interval (see timeline::merge; parts of one run always align).
  void merge(const summary& other);

  [[nodiscard]] double success_ratio() const noexcept {
    return requests ? static_cast<double>(successes) / static_cast<double>(requests) : 0.0;
  }
  [[nodiscard]] double seconds() const noexcept {
    return std::chrono::duration<double>(elapsed).count();
  }
  // Completed requests per second of wall time.
  [[nodiscard]] double rps() const noexcept {
    return elapsed.count() > 0 ? static_cast<double>(requests) / seconds() : 0.0;
  }
  // Responses of status class `c` (status_class(): 1..5 for 1xx..5xx, 0 for the rest).
  [[nodiscard]] std::uint64_t status_class_total(std::size_t c) const noexcept {
    std::uint64_t n = 0;
    for (std::size_t code = c * 100; code < (c + 1) * 100; ++code) n += status_counts[code];
    return n;
  }
  [[nodiscard]] std::uint64_t error_count(error_kind k) const noexcept {
    return error_counts[static_cast<std::size_t>(k)];
  }

  std::uint64_t requests = 0;   // completed: responses + errors
  std::uint64_t successes = 0;  // responses with a 2xx or 3xx status
  std::uint64_t errors = 0;     // requests without a usable response
  std::uint64_t bytes = 0;      // response bytes received, header and body
  std::array<std::uint64_t, status_class_count * 100> status_counts{};  // [0]: outside 1..599
  std::array<std::uint64_t, error_kind_count> error_counts{};
  histogram latency;       // from intended start to the response's last byte
  histogram service_time;  // from actual send to the response's last byte
  histogram send_lag;      // actual send - intended start (rate-paced runs only)
  histogram ttfb;          // from actual send to the response's first byte
  // Per connection: TCP connect (from the connect call to its completion), and the TLS
  // handshake after it (https only).
  histogram connect_time;
  histogram tls_handshake;
  std::uint64_t tls_full = 0;       // TLS handshakes that negotiated a new session
  std::uint64_t tls_resumed = 0;    // TLS handshakes that resumed an earlier session
  std::chrono::nanoseconds dns{0};  // host name resolution, once before the run (max over parts)

  // Connections. `peak_connections` merges as a sum: the per-thread peaks may not coincide, so
  // the merged figure is an upper bound of the true peak.
  std::uint64_t connections_opened = 0;  // successful connects
  std::uint64_t connections_closed =
      0;  // closes for any reason (error, Connection: close, idle, end)
  std::uint64_t connections_retired = 0;  // of which idle longer than the idle timeout (open model)
  std::uint64_t peak_connections = 0;     // most connections connected at once
  // Open model: requests that, when due, found no idle connection and the pool at its cap, so
  // they waited for one (k6's dropped_iterations, except that hit still sends them, late).
  std::uint64_t late = 0;
  // Open model: due requests never sent because the run stopped (Ctrl-C, or -z ended) while
  // they waited for a connection. Not requests: not in `requests`.
  std::uint64_t not_sent = 0;
  // Connections closed because the server sent bytes no request asked for (after a complete
  // response, or while the connection was idle): they cannot be paired with a request.
  std::uint64_t unsolicited = 0;
  // Requests resent once: a kept-alive connection was stale, or (HTTP/2) the server refused the
  // stream (REFUSED_STREAM, or above a GOAWAY's last stream id).
  std::uint64_t retries = 0;
  http2_counters http2;
  // Runs of several targets (--targets): one per named target, in the order of the names (the
  // engine's load_test::target_names()); empty for a run of one request. Sized before the run.
  std::vector<target_stats> by_target;
  // Per interval of the run, when enabled (results files, live intervals): off by default.
  stats::timeline timeline;
  // When set, a second timeline fed the same events, drained as the run goes (live intervals);
  // owned elsewhere, never merged or copied with the summary's figures.
  stats::timeline* live = nullptr;
  std::chrono::nanoseconds elapsed{0};    // wall time of the run (max over merged parts)
  std::chrono::nanoseconds last_send{0};  // offset of the last request sent (max over parts)

  // Requests started per second between the first send and the last (paced runs: compare with
  // the schedule's rate). Undefined (nullopt) with fewer than two sends.
  [[nodiscard]] std::optional<double> send_rate() const noexcept {
    if (requests < 2 || last_send.count() <= 0) return std::nullopt;
    return static_cast<double>(requests - 1) / std::chrono::duration<double>(last_send).count();
  }
};

}  // namespace hit::stats

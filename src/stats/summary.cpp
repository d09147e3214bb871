#include "hit/stats/summary.hpp"

#include <algorithm>

namespace hit::stats {

void http2_counters::merge(const http2_counters& o) noexcept {
  connections += o.connections;
  goaways += o.goaways;
  header_bytes_wire += o.header_bytes_wire;
  header_bytes_decoded += o.header_bytes_decoded;
  peak_streams = std::max(peak_streams, o.peak_streams);
  if (o.stream_limit != 0 && (stream_limit == 0 || o.stream_limit < stream_limit))
    stream_limit = o.stream_limit;
}

void summary::merge(const summary& other) {
  requests += other.requests;
  successes += other.successes;
  errors += other.errors;
  bytes += other.bytes;
  for (std::size_t i = 0; i < status_counts.size(); ++i) status_counts[i] += other.status_counts[i];
  for (std::size_t i = 0; i < error_counts.size(); ++i) error_counts[i] += other.error_counts[i];
  latency.merge(other.latency);
  service_time.merge(other.service_time);
  send_lag.merge(other.send_lag);
  ttfb.merge(other.ttfb);
  connect_time.merge(other.connect_time);
  tls_handshake.merge(other.tls_handshake);
  tls_full += other.tls_full;
  tls_resumed += other.tls_resumed;
  dns = std::max(dns, other.dns);
  connections_opened += other.connections_opened;
  connections_closed += other.connections_closed;
  connections_retired += other.connections_retired;
  peak_connections += other.peak_connections;
  late += other.late;
  not_sent += other.not_sent;
  unsolicited += other.unsolicited;
  retries += other.retries;
  http2.merge(other.http2);
  if (by_target.size() < other.by_target.size()) by_target.resize(other.by_target.size());
  for (std::size_t t = 0; t < other.by_target.size(); ++t) by_target[t].merge(other.by_target[t]);
  timeline.merge(other.timeline);  // (`live` is the owner's, not a figure)
  elapsed = std::max(elapsed, other.elapsed);
  last_send = std::max(last_send, other.last_send);
}

}  // namespace hit::stats

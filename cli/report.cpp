#include "report.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"
#include "target_report.hpp"

namespace hit::cli {
namespace {

using stats::format_duration_ns;

constexpr std::pair<const char*, double> percentiles[] = {
    {"p50", 50}, {"p75", 75},    {"p90", 90},      {"p95", 95},
    {"p99", 99}, {"p999", 99.9}, {"p9999", 99.99},
};

std::string bytes_text(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.2f} {}", b, units[u]);
}

std::string percentile_label(const char* key) {
  std::string k = key;
  if (k == "p999") return "p99.9";
  if (k == "p9999") return "p99.99";
  return k;
}

void latency_block(std::string& out, const char* title, const stats::histogram& h) {
  out += fmt::format("\n{}\n", title);
  if (h.count() == 0) {
    out += "  (no responses)\n";
    return;
  }
  out += fmt::format("  {:>9} {:>9} {:>9}\n  {:>9} {:>9} {:>9}\n", "fastest", "mean", "slowest",
                     format_duration_ns(static_cast<double>(h.min())), format_duration_ns(h.mean()),
                     format_duration_ns(static_cast<double>(h.max())));
  std::string names = " ", values = " ";
  for (const auto& [key, p] : percentiles) {
    names += fmt::format(" {:>9}", percentile_label(key));
    values += fmt::format(" {:>9}", format_duration_ns(static_cast<double>(h.percentile(p))));
  }
  out += names + "\n" + values + "\n";
}

// One row of the timing breakdown: a few percentiles, the slowest, and how many were measured.
// Rows without samples are left out: a zero would read as "instant".
void breakdown_row(std::string& out, const char* label, const stats::histogram& h) {
  if (h.count() == 0) return;
  out += fmt::format("  {:<14}", label);
  for (const double p : {50.0, 90.0, 99.0})
    out += fmt::format(" {:>9}", format_duration_ns(static_cast<double>(h.percentile(p))));
  out += fmt::format(" {:>9} {:>9}\n", format_duration_ns(static_cast<double>(h.max())), h.count());
}

// Where the time of a request goes before its response: resolving the host (once), opening a
// connection, securing it, and waiting for the first byte.
void breakdown_block(std::string& out, const stats::summary& s) {
  const bool any_histogram = s.connect_time.count() + s.tls_handshake.count() + s.ttfb.count() > 0;
  const std::uint64_t handshakes = s.tls_full + s.tls_resumed;
  if (s.dns.count() <= 0 && !any_histogram && handshakes == 0) return;
  out += "\nTiming breakdown:\n";
  if (s.dns.count() > 0)
    out += fmt::format("  {:<14} {:>9} (once, before the run)\n", "DNS lookup",
                       stats::format_duration(s.dns));
  if (any_histogram) {
    out += fmt::format("  {:<14} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "", "p50", "p90", "p99", "max",
                       "count");
    breakdown_row(out, "Connect", s.connect_time);
    breakdown_row(out, "TLS handshake", s.tls_handshake);
    breakdown_row(out, "TTFB", s.ttfb);
  }
  if (handshakes > 0)
    out += fmt::format("  TLS handshakes: {} full, {} resumed\n", s.tls_full, s.tls_resumed);
}

nlohmann::json latency_json(const stats::histogram& h) {
  nlohmann::json j;
  j["fastest"] = static_cast<double>(h.min()) / 1e9;
  j["slowest"] = static_cast<double>(h.max()) / 1e9;
  j["mean"] = h.mean() / 1e9;
  for (const auto& [key, p] : percentiles) j[key] = static_cast<double>(h.percentile(p)) / 1e9;
  return j;
}

struct bin {
  double lo, hi;
  std::uint64_t count;
};

std::vector<bin> histogram_bins(const stats::histogram& h, int rows) {
  std::vector<bin> bins;
  if (h.count() == 0) return bins;
  const double lo = static_cast<double>(std::max<std::uint64_t>(h.min(), 1));
  const double hi = static_cast<double>(std::max(h.max(), h.min() + 1));
  const bool log_scale = hi / lo > 10;
  for (int i = 0; i < rows; ++i) {
    const double f0 = static_cast<double>(i) / rows, f1 = static_cast<double>(i + 1) / rows;
    const double a = log_scale ? lo * std::pow(hi / lo, f0) : lo + (hi - lo) * f0;
    const double b = log_scale ? lo * std::pow(hi / lo, f1) : lo + (hi - lo) * f1;
    bins.push_back({a, b, 0});
  }
  // Assign each histogram bucket's count to the bin holding the bucket's midpoint.
  for (std::size_t i = 0; i < stats::histogram::bucket_count; ++i) {
    const auto c = h.count_at_index(i);
    if (c == 0) continue;
    const double mid = static_cast<double>(stats::histogram::lowest_in_bucket(i) +
                                           stats::histogram::highest_in_bucket(i)) /
                       2;
    auto it = std::find_if(bins.begin(), bins.end(), [&](const bin& b) { return mid < b.hi; });
    (it == bins.end() ? bins.back() : *it).count += c;
  }
  return bins;
}

bool paced(const run_options& o) {
  return o.open_model || o.rps > 0;
}

}  // namespace

std::string host_port(std::string_view host, std::string_view port) {
  return host.find(':') == std::string_view::npos ? fmt::format("{}:{}", printable(host), port)
                                                  : fmt::format("[{}]:{}", printable(host), port);
}

double scheduled_rate(const stats::summary& s, const run_context& ctx) {
  if (ctx.scheduled_rate) return *ctx.scheduled_rate;
  const auto& o = ctx.options;
  const double shards = o.shard.count;
  if (o.open_model && o.schedule) {
    if (s.last_send.count() <= 0) return o.schedule->rate_at(std::chrono::nanoseconds(0)) / shards;
    return static_cast<double>(o.schedule->count_before(s.last_send) - 1) /
           std::chrono::duration<double>(s.last_send).count() / shards;
  }
  return o.rps / shards;
}

namespace {

// "shard 2 started 3.1s after --start-at" (or "started ..." alone, unsharded).
std::string late_text(const shard_set& sh) {
  std::string out;
  for (const auto& [index, late] : sh.late)
    out += fmt::format("{}{}started {} after --start-at", out.empty() ? "" : "; ",
                       sh.sharded() ? fmt::format("shard {} ", index) : std::string(),
                       format_duration_ns(static_cast<double>(late.count())));
  return out;
}

// The Shard(s) and late-start lines of the text report.
void shard_lines(std::string& out, const run_context& ctx) {
  if (ctx.shards == nullptr) return;
  const auto& sh = *ctx.shards;
  if (sh.sharded() && sh.present.size() == 1) {
    out += fmt::format("  Shard:         {} of {} (from {}; hit report merges the shards)\n",
                       sh.present.front(), sh.count, ctx.options.shard.source);
  } else if (sh.sharded()) {
    const auto missing = sh.missing();
    out +=
        fmt::format("  Shards:        {} of {} merged{}\n", sh.present.size(), sh.count,
                    missing.empty() ? std::string()
                                    : fmt::format(" (partial: missing {})", index_list(missing)));
  }
  if (!sh.late.empty())
    out +=
        fmt::format("  Late start:    {} (clocks out of sync, or a slow start)\n", late_text(sh));
}

nlohmann::json shards_json(const run_context& ctx) {
  const auto& sh = *ctx.shards;
  nlohmann::json late = nlohmann::json::array();
  for (const auto& [index, d] : sh.late)
    late.push_back({{"shard", index}, {"late_s", std::chrono::duration<double>(d).count()}});
  if (sh.present.size() == 1)
    return {{"index", sh.present.front()},
            {"count", sh.count},
            {"source", ctx.options.shard.source},
            {"late", late}};
  return {{"count", sh.count}, {"present", sh.present}, {"missing", sh.missing()}, {"late", late}};
}

}  // namespace

std::string latency_histogram(const stats::histogram& h, int rows, int width) {
  std::string out;
  const auto bins = histogram_bins(h, rows);
  std::uint64_t top = 0;
  for (const auto& b : bins) top = std::max(top, b.count);
  for (const auto& b : bins) {
    const int bar = top ? static_cast<int>(std::lround(static_cast<double>(b.count) * width /
                                                       static_cast<double>(top)))
                        : 0;
    out += fmt::format("  {:>9} [{:>9}] |{}\n", format_duration_ns(b.hi), b.count,
                       std::string(static_cast<std::size_t>(bar), '#'));
  }
  return out;
}

// The HTTP the connections spoke: "h2", "http/1.1", or "mixed" (--http auto, servers differing).
std::string protocol(const stats::summary& s) {
  if (s.http2.connections == 0) return "http/1.1";
  return s.http2.connections >= s.connections_opened ? "h2" : "mixed";
}

// HPACK's saving on response headers: 1 - wire / decoded (h2load's "space savings").
double header_savings(const stats::http2_counters& h) {
  if (h.header_bytes_decoded == 0) return 0;
  return 1.0 -
         static_cast<double>(h.header_bytes_wire) / static_cast<double>(h.header_bytes_decoded);
}

std::string text_report(const stats::summary& s, const run_context& ctx) {
  const auto& o = ctx.options;
  std::string out;
  out += fmt::format("Summary{}:\n", ctx.interrupted ? " (interrupted: partial results)"
                                     : ctx.stopped_by_threshold
                                         ? " (stopped: a threshold failed; partial results)"
                                         : "");
  if (o.target_count == 0) {
    out += fmt::format("  Target:        {} {}\n", o.request.method, o.url_text);
  } else {
    out += fmt::format(
        "  Targets:       {} from {} ({}{}), origin {}\n", o.target_count,
        printable(o.targets_file), o.order == http::target_order::random ? "random" : "round-robin",
        o.order == http::target_order::random ? fmt::format(", --seed {}", o.seed) : std::string(),
        o.url_text);
  }
  if (!o.connect_host.empty())
    out += fmt::format("  Connected to:  {} (--connect-to)\n",
                       host_port(o.connect_host, o.connect_port));
  if (!o.unix_socket.empty())
    out += fmt::format("  Connected to:  unix:{} (--unix-socket)\n", printable(o.unix_socket));
  if (!o.proxy_host.empty())
    out += fmt::format("  Connected to:  {} (the proxy)\n", host_port(o.proxy_host, o.proxy_port));
  shard_lines(out, ctx);
  out += fmt::format("  Requests:      {}\n", s.requests);
  out += fmt::format("  Success ratio: {:.2f}% ({} with 2xx/3xx)\n", s.success_ratio() * 100,
                     s.successes);
  out += fmt::format("  Errors:        {}\n", s.errors);
  if (s.http2.connections > 0) {
    out += fmt::format("  Protocol:      {} (up to {} streams per connection)\n", protocol(s),
                       s.http2.stream_limit ? s.http2.stream_limit : ctx.options.streams);
  }
  if (o.pipeline > 1)
    out += fmt::format("  Pipeline:      up to {} requests in flight per connection\n", o.pipeline);
  if (s.retries > 0 && o.pipeline > 1)
    out += fmt::format(
        "  Retries:       {} (resent: the connection ended before their answers, e.g. the "
        "server closed it after so many requests)\n",
        s.retries);
  else if (s.retries > 0)
    out += fmt::format("  Retries:       {} (resent once: {})\n", s.retries,
                       s.http2.connections > 0
                           ? "the server refused the stream, or closed an idle connection"
                           : "the server had closed an idle kept-alive connection");
  if (s.unsolicited > 0)
    out += fmt::format(
        "  Unsolicited:   {} connections closed: the server sent bytes no request asked for\n",
        s.unsolicited);
  out += fmt::format("  Duration:      {}\n", format_duration_ns(s.seconds() * 1e9));
  out += fmt::format("  Requests/sec:  {:.1f} completed\n", s.rps());
  out += fmt::format("  Received:      {} ({}/s)\n", bytes_text(static_cast<double>(s.bytes)),
                     bytes_text(s.seconds() > 0 ? static_cast<double>(s.bytes) / s.seconds() : 0));
  if (o.open_model) {
    out += fmt::format("\nOpen model ({} {}):\n", o.schedule_option, o.schedule_text);
  } else if (o.rps > 0) {
    out += fmt::format("\nPacing (--rps {}):\n", o.rps);
  }
  if (paced(o)) {
    const auto sent = s.send_rate();
    out += fmt::format("  Sent/sec:      {} (scheduled {:.1f})\n",
                       sent ? fmt::format("{:.1f}", *sent) : std::string("n/a (under 2 sent)"),
                       scheduled_rate(s, ctx));
    out += fmt::format("  Send lag:      p50 {}  p99 {}  max {}\n",
                       format_duration_ns(static_cast<double>(s.send_lag.percentile(50))),
                       format_duration_ns(static_cast<double>(s.send_lag.percentile(99))),
                       format_duration_ns(static_cast<double>(s.send_lag.max())));
  }
  if (o.open_model) {
    out += fmt::format("  Late:          {} (found every connection busy at the cap of {})\n",
                       s.late, o.max_workers);
    if (s.not_sent)
      out += fmt::format("  Not sent:      {} (due but not yet sent when the run stopped)\n",
                         s.not_sent);
    out += fmt::format(
        "  Connections:   peak {}, opened {}, closed {}, retired idle {} (--workers {}, "
        "--max-workers {}, --idle-timeout {})\n",
        s.peak_connections, s.connections_opened, s.connections_closed, s.connections_retired,
        o.workers, o.max_workers, format_duration_ns(static_cast<double>(o.idle_timeout.count())));
  } else {
    out += fmt::format("  Connections:   {} concurrent, {} opened\n", o.concurrency,
                       s.connections_opened);
  }

  if (paced(o)) {
    latency_block(out,
                  "Latency (from each request's scheduled start; includes waiting):", s.latency);
    latency_block(out, "Service time (from actual send):", s.service_time);
  } else {
    latency_block(out, "Latency:", s.latency);
  }
  if (s.latency.clamped() > 0)
    out +=
        fmt::format("  ({} latencies above the histogram's range, ~36 min, counted at its top)\n",
                    s.latency.clamped());
  if (s.latency.count() > 0) {
    out += "\nLatency histogram (upper bound, count):\n";
    out += latency_histogram(s.latency);
  }
  breakdown_block(out, s);
  if (ctx.target_names != nullptr) {
    out += target_table(s, *ctx.target_names);
  } else if (o.target_count > 0) {
    out += "\n(No breakdown by target: results files written before hit kept it do not hold it.)\n";
  }
  if (s.http2.connections > 0) {
    const auto& h = s.http2;
    out += "\nHTTP/2:\n";
    out += fmt::format("  Streams:       at most {} per connection, peak {} in flight\n",
                       h.stream_limit ? h.stream_limit : o.streams, h.peak_streams);
    out += fmt::format("  Header bytes:  {} received ({} decoded, {:.1f}% saved by HPACK)\n",
                       bytes_text(static_cast<double>(h.header_bytes_wire)),
                       bytes_text(static_cast<double>(h.header_bytes_decoded)),
                       header_savings(h) * 100);
    if (h.goaways > 0) out += fmt::format("  GOAWAY:        {} received\n", h.goaways);
  }

  out += "\nStatus codes:\n";
  bool any = false;
  for (std::size_t code = 0; code < s.status_counts.size(); ++code) {
    if (s.status_counts[code] == 0) continue;
    any = true;
    out += code == 0 ? fmt::format("  [other] {} responses\n", s.status_counts[code])
                     : fmt::format("  [{}] {} responses\n", code, s.status_counts[code]);
  }
  if (!any) out += "  (none)\n";

  if (s.errors > 0) {
    out += "\nErrors:\n";
    for (std::size_t k = 0; k < stats::error_kind_count; ++k) {
      if (s.error_counts[k] == 0) continue;
      out += fmt::format("  {:<16} {}\n", stats::name(static_cast<stats::error_kind>(k)),
                         s.error_counts[k]);
    }
  }
  return out;
}

nlohmann::json json_report(const stats::summary& s, const run_context& ctx) {
  const auto& o = ctx.options;
  nlohmann::json j;
  j["target"] = o.url_text;
  if (!o.connect_host.empty()) j["connect_to"] = host_port(o.connect_host, o.connect_port);
  if (!o.unix_socket.empty()) j["unix_socket"] = o.unix_socket;
  if (!o.proxy_host.empty()) j["proxy"] = host_port(o.proxy_host, o.proxy_port);
  if (o.target_count == 0) {
    j["method"] = o.request.method;
  } else {
    // (No "method": each target has its own.)
    j["targets_file"] = o.targets_file;
    j["target_count"] = o.target_count;
    j["order"] = o.order == http::target_order::random ? "random" : "round-robin";
    if (o.order == http::target_order::random) j["seed"] = o.seed;
    // The breakdown (absent from results files written before hit kept it).
    if (ctx.target_names != nullptr) j["targets"] = targets_json(s, *ctx.target_names);
  }
  j["interrupted"] = ctx.interrupted;
  // Only for shards, and late starts: a report without them keeps the schema it always had.
  if (ctx.shards != nullptr && ctx.shards->sharded()) {
    j[ctx.shards->present.size() == 1 ? "shard" : "shards"] = shards_json(ctx);
  } else if (ctx.shards != nullptr && !ctx.shards->late.empty()) {
    double late = 0;
    for (const auto& l : ctx.shards->late)
      late = std::max(late, std::chrono::duration<double>(l.second).count());
    j["start_late_s"] = late;  // after --start-at (the latest, of merged runs)
  }
  // Only with thresholds, beside their array (main.cpp adds it): a report without them keeps
  // the schema it always had.
  if (!o.thresholds.empty()) j["stopped_by_threshold"] = ctx.stopped_by_threshold;
  j["requests"] = s.requests;
  j["successes"] = s.successes;
  j["errors"] = s.errors;
  j["success_ratio"] = s.success_ratio();
  j["rps"] = s.rps();
  j["duration_s"] = s.seconds();
  j["bytes"] = s.bytes;
  j["model"] = o.open_model ? "open" : "closed";
  if (!o.open_model) j["concurrency"] = o.concurrency;
  if (o.pipeline > 1) j["pipeline"] = o.pipeline;
  j["connections_opened"] = s.connections_opened;
  j["retries"] = s.retries;
  j["unsolicited"] = s.unsolicited;
  j["connections"] = {{"peak", s.peak_connections},
                      {"opened", s.connections_opened},
                      {"closed", s.connections_closed},
                      {"retired_idle", s.connections_retired}};
  if (paced(o)) {
    j["target_rps"] = scheduled_rate(s, ctx);
    const auto sent = s.send_rate();
    j["achieved_rps"] = sent ? nlohmann::json(*sent) : nlohmann::json(nullptr);
    j["send_lag_s"] = {{"p50", static_cast<double>(s.send_lag.percentile(50)) / 1e9},
                       {"p99", static_cast<double>(s.send_lag.percentile(99)) / 1e9},
                       {"max", static_cast<double>(s.send_lag.max()) / 1e9}};
  }
  if (o.open_model) {
    j["schedule"] = o.schedule_text;
    j["late"] = s.late;
    j["not_sent"] = s.not_sent;
    j["workers"] = o.workers;
    j["max_workers"] = o.max_workers;
  }
  j["latency_s"] = latency_json(s.latency);
  j["latency_clamped"] = s.latency.clamped();
  if (paced(o)) j["service_time_s"] = latency_json(s.service_time);
  // The breakdown is always there, zeros included (plain http has no handshakes), so a consumer
  // reads one schema.
  j["dns_s"] = std::chrono::duration<double>(s.dns).count();
  j["connect_s"] = latency_json(s.connect_time);
  j["tls_handshake_s"] = latency_json(s.tls_handshake);
  j["ttfb_s"] = latency_json(s.ttfb);
  j["tls"] = {{"full_handshakes", s.tls_full}, {"resumed_handshakes", s.tls_resumed}};
  j["protocol"] = protocol(s);
  j["http2"] = {{"connections", s.http2.connections},
                {"stream_limit", s.http2.stream_limit},
                {"peak_streams", s.http2.peak_streams},
                {"goaways", s.http2.goaways},
                {"header_bytes", s.http2.header_bytes_wire},
                {"header_bytes_decoded", s.http2.header_bytes_decoded},
                {"header_savings", header_savings(s.http2)}};
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& b : histogram_bins(s.latency, 10))
    hist.push_back({{"le_s", b.hi / 1e9}, {"count", b.count}});
  j["latency_histogram"] = hist;
  nlohmann::json codes = nlohmann::json::object();
  for (std::size_t code = 0; code < s.status_counts.size(); ++code)
    if (s.status_counts[code])
      codes[code == 0 ? "other" : std::to_string(code)] = s.status_counts[code];
  j["status_codes"] = codes;
  nlohmann::json errs = nlohmann::json::object();
  for (std::size_t k = 0; k < stats::error_kind_count; ++k)
    errs[std::string(stats::name(static_cast<stats::error_kind>(k)))] = s.error_counts[k];
  j["errors_by_kind"] = errs;
  return j;
}

}  // namespace hit::cli

#include "html_model.hpp"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "hit/stats/duration.hpp"
#include "hit/version.hpp"
#include "report.hpp"
#include "timeline_view.hpp"

namespace hit::cli {
namespace {

using nlohmann::json;

double seconds(std::uint64_t ns) {
  return static_cast<double>(ns) / 1e9;
}

json config_rows(const run_record& r) {
  const auto& o = r.options;
  const auto d = [](std::chrono::nanoseconds x) { return stats::format_duration(x); };
  json rows = json::array();
  const auto row = [&](const std::string& k, const std::string& v) { rows.push_back({k, v}); };
  row("URL", o.url_text);
  if (!o.connect_host.empty()) row("Connected to", host_port(o.connect_host, o.connect_port));
  if (!o.unix_socket.empty()) row("Connected to", "unix:" + o.unix_socket);
  if (!o.proxy_host.empty())
    row("Connected to", host_port(o.proxy_host, o.proxy_port) + " (proxy)");
  if (o.target_count == 0) {
    row("Method", o.request.method);
  } else {
    row("Targets", fmt::format("{} from {}", o.target_count, o.targets_file));
  }
  if (o.open_model) {
    row("Model",
        fmt::format("open: {} {}, {} to {} connections, idle timeout {}", o.schedule_option,
                    o.schedule_text, o.workers, o.max_workers, d(o.idle_timeout)));
  } else {
    row("Model", fmt::format("closed: {} connections{}", o.concurrency,
                             o.rps > 0 ? fmt::format(", --rps {}", o.rps) : std::string()));
  }
  row("Protocol",
      o.http == http::http_version::http2
          ? fmt::format("HTTP/2, {} streams per connection", o.streams)
      : o.http == http::http_version::negotiate ? std::string("negotiated (--http auto)")
      : o.pipeline > 1 ? fmt::format("HTTP/1.1, pipelined: {} requests per connection", o.pipeline)
                       : std::string("HTTP/1.1"));
  if (o.requests > 0) row("Requests asked", std::to_string(o.requests));
  if (o.duration.count() > 0) row("Duration asked", d(o.duration));
  row("Timeout", d(o.timeout));
  row("Threads", std::to_string(o.threads));
  if (r.parts > 1) row("Merged", fmt::format("{} results files", r.parts));
  const auto& sh = r.shards;
  if (sh.sharded() && sh.present.size() == 1)
    row("Shard", fmt::format("{} of {} (from {})", sh.present.front(), sh.count, o.shard.source));
  if (sh.sharded() && sh.present.size() > 1)
    row("Shards",
        fmt::format("{} of {} merged{}", sh.present.size(), sh.count,
                    sh.missing().empty() ? std::string()
                                         : " (partial: missing " + index_list(sh.missing()) + ")"));
  for (const auto& [index, late] : sh.late)
    row("Late start",
        fmt::format("{}{} after --start-at",
                    sh.sharded() ? fmt::format("shard {}: ", index) : std::string(), d(late)));
  if (r.interrupted) row("Interrupted", "yes: partial results");
  if (r.summary.timeline.enabled())
    row("Interval", d(r.summary.timeline.width()) +
                        (r.summary.timeline.coarsened() ? " (coarsened to bound memory)" : ""));
  return rows;
}

json timeline_model(const stats::summary& s) {
  json t = {{"interval_s", std::chrono::duration<double>(s.timeline.width()).count()},
            {"coarsened", s.timeline.coarsened() > 0}};
  json ts = json::array(), req = json::array(), rps = json::array(), err = json::array();
  json p50 = json::array(), p90 = json::array(), p99 = json::array(), mx = json::array();
  std::array<json, stats::status_class_count> classes;
  for (auto& c : classes) c = json::array();
  const auto opt = [](const std::optional<double>& x) { return x ? json(*x) : json(nullptr); };
  for (const auto& v : timeline_view(s)) {
    ts.push_back(v.t_s);
    req.push_back(v.requests);
    rps.push_back(v.rps);
    err.push_back(v.errors);
    p50.push_back(opt(v.p50_s));
    p90.push_back(opt(v.p90_s));
    p99.push_back(opt(v.p99_s));
    mx.push_back(opt(v.max_s));
    for (std::size_t k = 0; k < classes.size(); ++k) classes[k].push_back(v.status_classes[k]);
  }
  t["t_s"] = std::move(ts);
  t["requests"] = std::move(req);
  t["rps"] = std::move(rps);
  t["errors"] = std::move(err);
  t["p50_s"] = std::move(p50);
  t["p90_s"] = std::move(p90);
  t["p99_s"] = std::move(p99);
  t["max_s"] = std::move(mx);
  t["status_classes"] = {{"1xx", classes[1]},
                         {"2xx", classes[2]},
                         {"3xx", classes[3]},
                         {"4xx", classes[4]},
                         {"5xx", classes[5]}};
  return t;
}

// The percentile curve HdrHistogram users know: points spaced evenly on a log scale of
// 1 / (1 - p), up to the resolution the count allows.
json percentile_curve(const stats::histogram& h) {
  json points = json::array();
  if (h.count() == 0) return points;
  for (int k = 0; k <= 70; ++k) {
    const double tail = std::pow(10.0, -k / 10.0);  // 1 - p
    if (tail * static_cast<double>(h.count()) < 1.0) break;
    const double p = 100.0 * (1.0 - tail);
    points.push_back({p, seconds(h.percentile(p))});
  }
  return points;
}

json distribution(const stats::histogram& h) {
  json out = json::array();
  for (std::size_t i = 0; i < stats::histogram::bucket_count; ++i)
    if (const auto c = h.count_at_index(i))
      out.push_back({seconds(stats::histogram::lowest_in_bucket(i)),
                     seconds(stats::histogram::highest_in_bucket(i) + 1), c});
  return out;
}

json breakdown(const stats::summary& s) {
  json rows = json::array();
  const auto row = [&](const char* name, const stats::histogram& h) {
    if (h.count() == 0) return;
    rows.push_back({{"name", name},
                    {"p50_s", seconds(h.percentile(50))},
                    {"p90_s", seconds(h.percentile(90))},
                    {"p99_s", seconds(h.percentile(99))},
                    {"max_s", seconds(h.max())},
                    {"count", h.count()}});
  };
  row("Connect", s.connect_time);
  row("TLS handshake", s.tls_handshake);
  row("TTFB", s.ttfb);
  row("Service time", s.service_time);
  return {{"dns_s", std::chrono::duration<double>(s.dns).count()}, {"rows", std::move(rows)}};
}

json run_model(const run_record& r, const json& thresholds) {
  const auto& s = r.summary;
  const auto report = json_report(
      s, {r.options, r.interrupted, r.stopped_by_threshold, r.scheduled_rate, &r.shards});
  json m = {
      {"label", r.label},
      {"start_unix_s", std::chrono::duration<double>(r.start.time_since_epoch()).count()},
      {"config", config_rows(r)},
      {"summary",
       {{"requests", s.requests},
        {"successes", s.successes},
        {"errors", s.errors},
        {"success_ratio", s.success_ratio()},
        {"rps", s.rps()},
        {"duration_s", s.seconds()},
        {"bytes", s.bytes},
        {"latency_s", report["latency_s"]}}},
      {"timeline", timeline_model(s)},
      {"distribution", distribution(s.latency)},
      {"percentile_curve", percentile_curve(s.latency)},
      {"status_codes", report["status_codes"]},
      {"breakdown", breakdown(s)},
  };
  json errs = json::object();
  for (std::size_t k = 0; k < stats::error_kind_count; ++k)
    if (s.error_counts[k])
      errs[std::string(stats::name(static_cast<stats::error_kind>(k)))] = s.error_counts[k];
  m["errors_by_kind"] = std::move(errs);
  if (!thresholds.is_null() && !thresholds.empty()) m["thresholds"] = thresholds;
  return m;
}

}  // namespace

json html_thresholds(const std::vector<threshold_result>& verdicts) {
  json out = json::array();
  for (const auto& v : verdicts)
    out.push_back({{"expression", v.rule.expression},
                   {"pass", v.pass && !v.stopped_run},
                   {"observed", v.observed}});
  return out;
}

json html_model(const std::vector<const run_record*>& runs, const std::vector<json>& thresholds) {
  json out = {{"generated_by", std::string("hit ") + HIT_VERSION}};
  if (!runs.empty())
    out["title"] = runs.front()->options.request.method + " " + runs.front()->options.url_text;
  json list = json::array();
  for (std::size_t i = 0; i < runs.size(); ++i)
    list.push_back(run_model(*runs[i], i < thresholds.size() ? thresholds[i] : json()));
  out["runs"] = std::move(list);
  return out;
}

}  // namespace hit::cli

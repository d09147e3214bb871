#include "timeline_view.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hit/stats/duration.hpp"

namespace hit::cli {

interval_view view_of(const stats::interval_record& r, std::chrono::nanoseconds width,
                      std::chrono::nanoseconds run_end) {
  interval_view v;
  const auto start = width * static_cast<std::int64_t>(r.index);
  v.t_s = std::chrono::duration<double>(start).count();
  const auto end = run_end > start ? std::min(start + width, run_end) : start + width;
  v.width_s = std::chrono::duration<double>(end - start).count();
  v.requests = r.requests;
  v.successes = r.successes;
  v.errors = r.errors;
  v.bytes = r.bytes;
  v.rps = v.width_s > 0 ? static_cast<double>(r.requests) / v.width_s : 0;
  v.status_classes = r.status_classes;
  v.error_counts = r.error_counts;
  if (r.latency.totals().count > 0) {
    const auto h = r.latency.dense();
    v.p50_s = static_cast<double>(h.percentile(50)) / 1e9;
    v.p90_s = static_cast<double>(h.percentile(90)) / 1e9;
    v.p99_s = static_cast<double>(h.percentile(99)) / 1e9;
    v.max_s = static_cast<double>(h.max()) / 1e9;
  }
  return v;
}

std::vector<interval_view> timeline_view(const stats::summary& s) {
  std::vector<interval_view> out;
  const auto& t = s.timeline;
  if (!t.enabled()) return out;
  const auto w = t.width();
  const auto end = t.end().value_or(s.elapsed);
  // Rows up to the one holding the end (files bound end and width: no overflow here).
  std::uint64_t n =
      end.count() > 0 ? static_cast<std::uint64_t>((end - std::chrono::nanoseconds(1)) / w) + 1 : 0;
  if (!t.intervals().empty()) n = std::max(n, t.intervals().back().index + 1);
  out.reserve(n);
  std::size_t next = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (next < t.intervals().size() && t.intervals()[next].index == i) {
      out.push_back(view_of(t.intervals()[next++], w, end));
    } else {
      stats::interval_record empty;
      empty.index = i;
      out.push_back(view_of(empty, w, end));
    }
  }
  return out;
}

nlohmann::json interval_json(const interval_view& v) {
  const auto opt = [](const std::optional<double>& x) {
    return x ? nlohmann::json(*x) : nlohmann::json(nullptr);
  };
  nlohmann::json errs = nlohmann::json::object();
  for (std::size_t k = 0; k < v.error_counts.size(); ++k)
    if (v.error_counts[k])
      errs[std::string(stats::name(static_cast<stats::error_kind>(k)))] = v.error_counts[k];
  return {{"t_s", v.t_s},
          {"width_s", v.width_s},
          {"requests", v.requests},
          {"rps", v.rps},
          {"successes", v.successes},
          {"errors", v.errors},
          {"bytes", v.bytes},
          {"p50_s", opt(v.p50_s)},
          {"p90_s", opt(v.p90_s)},
          {"p99_s", opt(v.p99_s)},
          {"max_s", opt(v.max_s)},
          {"status_classes",
           {{"1xx", v.status_classes[1]},
            {"2xx", v.status_classes[2]},
            {"3xx", v.status_classes[3]},
            {"4xx", v.status_classes[4]},
            {"5xx", v.status_classes[5]},
            {"other", v.status_classes[0]}}},
          {"errors_by_kind", std::move(errs)}};
}

std::string interval_line(const interval_view& v) {
  const auto d = [](const std::optional<double>& s) {
    return s ? stats::format_duration_ns(*s * 1e9) : std::string("-");
  };
  return fmt::format("  {:>8}  {:>9.0f} req/s  p50 {:>8}  p99 {:>8}  max {:>8}  {} errors",
                     stats::format_duration_ns(v.t_s * 1e9), v.rps, d(v.p50_s), d(v.p99_s),
                     d(v.max_s), v.errors);
}

std::string timeline_csv_header(bool with_run) {
  return std::string(with_run ? "run," : "") +
         "t_s,width_s,requests,rps,successes,errors,bytes,p50_s,p90_s,p99_s,max_s,status_1xx,"
         "status_2xx,status_3xx,status_4xx,status_5xx,status_other\n";
}

std::string timeline_csv_row(const interval_view& v, const std::string& run) {
  const auto opt = [](const std::optional<double>& x) {
    return x ? fmt::format("{:.9g}", *x) : std::string();
  };
  std::string out;
  if (!run.empty()) {
    // RFC 4180: quoted, inner quotes doubled.
    out += '"';
    for (const char c : run) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += "\",";
  }
  out += fmt::format("{:.9g},{:.9g},{},{:.9g},{},{},{},{},{},{},{},{},{},{},{},{},{}\n", v.t_s,
                     v.width_s, v.requests, v.rps, v.successes, v.errors, v.bytes, opt(v.p50_s),
                     opt(v.p90_s), opt(v.p99_s), opt(v.max_s), v.status_classes[1],
                     v.status_classes[2], v.status_classes[3], v.status_classes[4],
                     v.status_classes[5], v.status_classes[0]);
  return out;
}

}  // namespace hit::cli

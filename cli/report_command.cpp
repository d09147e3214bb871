#include "report_command.hpp"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"
#include "html_model.hpp"
#include "html_report.hpp"
#include "report.hpp"
#include "results_file.hpp"
#include "threshold.hpp"
#include "timeline_view.hpp"

namespace hit::cli {
namespace {

using stats::format_duration_ns;

std::string utc(std::chrono::system_clock::time_point t) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC",
                     std::chrono::time_point_cast<std::chrono::seconds>(t));
}

// The results header line of a report read from files ("3 files merged: ...").
std::string results_header(const run_record& r, const std::vector<std::string>& files);

run_context context_of(const run_record& r) {
  return {r.options,        r.interrupted, r.stopped_by_threshold,
          r.scheduled_rate, &r.shards,     r.target_names.empty() ? nullptr : &r.target_names};
}

std::string full_text(const run_record& r, const std::vector<std::string>& files) {
  return results_header(r, files) + text_report(r.summary, context_of(r));
}

// The JSON report of a record, as text: the run's report, `results`, and `timeline` — whose
// rows are written one at a time (a long run has many; a DOM of them all would weigh ~2.6 KB
// a row). `extra`: fields to add (thresholds).
std::string full_json(const run_record& r, const std::vector<std::string>& files,
                      const nlohmann::json& extra = nlohmann::json::object()) {
  auto j = json_report(r.summary, context_of(r));
  j["results"] = {
      {"files", files},
      {"parts", r.parts},
      {"start_unix_s", std::chrono::duration<double>(r.start.time_since_epoch()).count()},
      {"interval_s", std::chrono::duration<double>(r.summary.timeline.width()).count()},
      {"coarsened", r.summary.timeline.coarsened()}};
  for (const auto& [k, v] : extra.items()) j[k] = v;
  const auto dump = [](const nlohmann::json& x, int indent) {
    return x.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  std::string text = dump(j, 2);
  text.resize(text.size() - 2);  // "\n}"
  text += ",\n  \"timeline\": [";
  bool first = true;
  for (const auto& v : timeline_view(r.summary)) {
    text += first ? "\n    " : ",\n    ";
    text += dump(interval_json(v), -1);
    first = false;
  }
  text += first ? "]\n}" : "\n  ]\n}";
  return text;
}

// One compared figure.
struct figure {
  const char* name;
  double a, b;
  enum class unit { count, rate, ratio, seconds } kind;
  bool defined_a = true, defined_b = true;  // latencies of a run without responses are not 0
  [[nodiscard]] bool both() const { return defined_a && defined_b; }
};

std::vector<figure> figures(const run_record& ra, const run_record& rb) {
  const auto& a = ra.summary;
  const auto& b = rb.summary;
  const auto err = [](const stats::summary& s) {
    return s.requests ? static_cast<double>(s.errors) / static_cast<double>(s.requests) : 0.0;
  };
  const auto p = [](const stats::summary& s, double q) {
    return static_cast<double>(s.latency.percentile(q)) / 1e9;
  };
  using u = figure::unit;
  std::vector<figure> f = {
      {"requests", static_cast<double>(a.requests), static_cast<double>(b.requests), u::count},
      {"rps", a.rps(), b.rps(), u::rate},
      {"success_ratio", a.success_ratio(), b.success_ratio(), u::ratio},
      {"errors", static_cast<double>(a.errors), static_cast<double>(b.errors), u::count},
      {"error_ratio", err(a), err(b), u::ratio},
      {"p50", p(a, 50), p(b, 50), u::seconds},
      {"p90", p(a, 90), p(b, 90), u::seconds},
      {"p99", p(a, 99), p(b, 99), u::seconds},
      {"p99.9", p(a, 99.9), p(b, 99.9), u::seconds},
      {"max", static_cast<double>(a.latency.max()) / 1e9,
       static_cast<double>(b.latency.max()) / 1e9, u::seconds},
  };
  for (auto& x : f) {
    if (x.kind != u::seconds) continue;
    x.defined_a = a.latency.count() > 0;
    x.defined_b = b.latency.count() > 0;
  }
  return f;
}

std::string show(double v, figure::unit k) {
  switch (k) {
    case figure::unit::count:
      return fmt::format("{:.0f}", v);
    case figure::unit::rate:
      return fmt::format("{:.1f}/s", v);
    case figure::unit::ratio:
      return fmt::format("{:.3f}%", v * 100);
    case figure::unit::seconds:
      return format_duration_ns(v * 1e9);
  }
  return {};
}

std::string signed_show(double v, figure::unit k) {
  if (k == figure::unit::ratio) return fmt::format("{:+.3f} pt", v * 100);
  const std::string s = show(std::fabs(v), k);
  return (v < 0 ? "-" : "+") + s;
}

int write_out(const std::string& text, const report_options& o) {
  if (o.out_file.empty()) {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) {
      std::fprintf(stderr, "hit report: cannot write the report to standard output\n");
      return exit_failure;
    }
    return exit_ok;
  }
  std::ofstream out(o.out_file, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) {
    std::fprintf(stderr, "hit report: cannot write '%s'\n", printable(o.out_file).c_str());
    return exit_failure;
  }
  return exit_ok;
}

std::string results_header(const run_record& r, const std::vector<std::string>& files) {
  std::string names;
  for (const auto& f : files) names += (names.empty() ? "" : ", ") + printable(f);
  const auto interval =
      r.summary.timeline.enabled()
          ? fmt::format(", intervals of {}{}", stats::format_duration(r.summary.timeline.width()),
                        r.summary.timeline.coarsened() ? " (coarsened)" : "")
          : std::string();
  if (files.size() == 1)
    return fmt::format("Results: {} (started {}{})\n\n", names, utc(r.start), interval);
  return fmt::format("Results: {} files merged ({}), first started {}{}\n\n", files.size(), names,
                     utc(r.start), interval);
}

// --compare: throughput, success, errors and latency percentiles of A and B, with B - A and
// B / A (a latency of a run without responses is n/a, not 0).
std::string compare_text(const run_record& a, const run_record& b) {
  std::string out = fmt::format("Comparison:\n  A: {} (started {})\n  B: {} (started {})\n\n",
                                printable(a.label), utc(a.start), printable(b.label), utc(b.start));
  out += fmt::format("  {:<14} {:>14} {:>14} {:>14} {:>9}\n", "", "A", "B", "B - A", "B / A");
  for (const auto& f : figures(a, b)) {
    const std::string ratio =
        f.both() && f.a != 0 ? fmt::format("{:.3f}", f.b / f.a) : std::string("-");
    out += fmt::format("  {:<14} {:>14} {:>14} {:>14} {:>9}\n", f.name,
                       f.defined_a ? show(f.a, f.kind) : "n/a",
                       f.defined_b ? show(f.b, f.kind) : "n/a",
                       f.both() ? signed_show(f.b - f.a, f.kind) : "-", ratio);
  }
  return out;
}

// The same as JSON text: both full reports, then `comparison`.
std::string compare_json(const run_record& a, const run_record& b) {
  nlohmann::json diff = nlohmann::json::object();
  for (const auto& f : figures(a, b)) {
    std::string key = f.name;
    if (f.kind == figure::unit::seconds) key = (key == "p99.9" ? "p999" : key) + "_s";
    const auto value = [](bool defined, double v) {
      return defined ? nlohmann::json(v) : nlohmann::json(nullptr);
    };
    diff[key] = {{"a", value(f.defined_a, f.a)},
                 {"b", value(f.defined_b, f.b)},
                 {"difference", value(f.both(), f.b - f.a)},
                 {"ratio", value(f.both() && f.a != 0, f.a != 0 ? f.b / f.a : 0)}};
  }
  // Both reports in full (written as text, see full_json), then the comparison.
  return "{\n\"a\": " + full_json(a, {a.label}) + ",\n\"b\": " + full_json(b, {b.label}) +
         ",\n\"comparison\": " +
         diff.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n}";
}

}  // namespace

int report_command(const report_options& o) {
  std::vector<run_record> runs;
  for (const auto& f : o.files) {
    auto r = load_results(f);
    if (!r) {
      std::fprintf(stderr, "hit report: %s\n", r.error().c_str());
      return exit_usage;
    }
    runs.push_back(std::move(*r));
  }
  if (o.compare) {
    const auto& a = runs[0];
    const auto& b = runs[1];
    switch (o.output) {
      case report_format::text:
        return write_out(compare_text(a, b), o);
      case report_format::json:
        return write_out(compare_json(a, b) + "\n", o);
      case report_format::csv: {
        std::string csv = timeline_csv_header(true);
        for (const auto* r : {&a, &b})
          for (const auto& v : timeline_view(r->summary)) csv += timeline_csv_row(v, r->label);
        return write_out(csv, o);
      }
      case report_format::html:
        return write_out(html_report(html_model({&a, &b})), o);
    }
  }
  std::vector<std::string> files = o.files;
  run_record merged;
  if (!o.compare) {
    auto m = merge_results(std::move(runs), o.partial);
    if (!m) {
      std::fprintf(stderr, "hit report: %s\n", m.error().c_str());
      return exit_usage;
    }
    merged = std::move(*m);
  }
  // Thresholds judge the merged results: across shards, as if one machine had run them all.
  const auto verdicts = evaluate(o.thresholds, merged.summary);
  int written = exit_failure;
  switch (o.output) {
    case report_format::text: {
      std::string text = full_text(merged, files);
      if (!verdicts.empty()) text += "\n" + threshold_table(verdicts);
      written = write_out(text, o);
      break;
    }
    case report_format::json: {
      nlohmann::json extra = nlohmann::json::object();
      if (!verdicts.empty()) extra["thresholds"] = thresholds_json(verdicts);
      written = write_out(full_json(merged, files, extra) + "\n", o);
      break;
    }
    case report_format::csv: {
      std::string csv = timeline_csv_header(false);
      for (const auto& v : timeline_view(merged.summary)) csv += timeline_csv_row(v, "");
      written = write_out(csv, o);
      break;
    }
    case report_format::html:
      written = write_out(html_report(html_model({&merged}, {html_thresholds(verdicts)})), o);
      break;
  }
  if (written != exit_ok) return written;
  return all_pass(verdicts) ? exit_ok : exit_thresholds;
}

}  // namespace hit::cli

#include "target_report.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"

namespace hit::cli {
namespace {

constexpr std::size_t name_width = 48;  // longer names keep their ends, "..." between

// "GET http://host:port/path?q" as "GET /path?q": every target has the run's origin (printed
// above the table), so the path is what tells rows apart; a long one keeps its start and end.
std::string fitted(const std::string& name) {
  auto p = printable(name, 1000);
  const auto scheme = p.find("://");
  const auto space = p.find(' ');
  if (scheme != std::string::npos && space != std::string::npos && space < scheme) {
    const auto path = p.find('/', scheme + 3);
    p = p.substr(0, space + 1) + (path == std::string::npos ? "/" : p.substr(path));
  }
  if (p.size() <= name_width) return p;
  constexpr std::size_t head = 20;
  return p.substr(0, head) + "..." + p.substr(p.size() - (name_width - head - 3));
}

std::string ms(std::uint64_t ns) {
  return stats::format_duration_ns(static_cast<double>(ns));
}

// "200:98 404:2 timeout:1": status codes, then errors by kind.
std::string outcomes(const stats::target_stats& t) {
  std::string out;
  auto codes = t.codes;
  std::sort(codes.begin(), codes.end(), [](const auto& a, const auto& b) {
    return (a.second != 0) != (b.second != 0) ? a.second != 0 : a.first < b.first;
  });
  for (const auto& [code, n] : codes)
    if (n != 0) out += fmt::format("{}{}:{}", out.empty() ? "" : " ", code, n);
  if (t.other_codes != 0) out += fmt::format("{}other:{}", out.empty() ? "" : " ", t.other_codes);
  for (std::size_t k = 0; k < t.error_counts.size(); ++k)
    if (t.error_counts[k] != 0)
      out += fmt::format("{}{}:{}", out.empty() ? "" : " ",
                         stats::name(static_cast<stats::error_kind>(k)), t.error_counts[k]);
  return out;
}

}  // namespace

std::string target_table(const stats::summary& s, const std::vector<std::string>& names) {
  if (names.empty() || s.by_target.size() != names.size()) return {};
  std::size_t width = 6;
  for (const auto& n : names) width = std::max(width, fitted(n).size());
  std::string out =
      fmt::format("\nBy target:\n  {:<{}} {:>9} {:>7} {:>8} {:>9} {:>9}  {}\n", "target", width,
                  "requests", "errors", "success", "p50", "p99", "outcomes");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& t = s.by_target[i];
    const double ok =
        t.requests ? 100.0 * static_cast<double>(t.successes) / static_cast<double>(t.requests)
                   : 0.0;
    const bool timed = t.latency.count() > 0;
    out += fmt::format("  {:<{}} {:>9} {:>7} {:>7.2f}% {:>9} {:>9}  {}\n", fitted(names[i]), width,
                       t.requests, t.errors, ok, timed ? ms(t.latency.percentile(50)) : "-",
                       timed ? ms(t.latency.percentile(99)) : "-", outcomes(t));
  }
  return out;
}

nlohmann::json targets_json(const stats::summary& s, const std::vector<std::string>& names) {
  auto all = nlohmann::json::array();
  if (s.by_target.size() != names.size()) return all;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const auto& t = s.by_target[i];
    const auto& h = t.latency;
    auto codes = nlohmann::json::object();
    for (const auto& [code, n] : t.codes)
      if (n != 0) codes[std::to_string(code)] = n;
    if (t.other_codes != 0) codes["other"] = t.other_codes;
    auto errors = nlohmann::json::object();
    for (std::size_t k = 0; k < t.error_counts.size(); ++k)
      errors[std::string(stats::name(static_cast<stats::error_kind>(k)))] = t.error_counts[k];
    const auto sec = [](std::uint64_t ns) { return static_cast<double>(ns) / 1e9; };
    all.push_back(
        {{"name", names[i]},
         {"requests", t.requests},
         {"successes", t.successes},
         {"errors", t.errors},
         {"success_ratio",
          t.requests ? static_cast<double>(t.successes) / static_cast<double>(t.requests) : 0.0},
         // (null for a target with no response: no latency to tell)
         {"latency_s", h.count() == 0 ? nlohmann::json(nullptr)
                                      : nlohmann::json{{"p50", sec(h.percentile(50))},
                                                       {"p90", sec(h.percentile(90))},
                                                       {"p99", sec(h.percentile(99))},
                                                       {"mean", h.mean() / 1e9},
                                                       {"max", sec(h.max())}}},
         {"status_codes", codes},
         {"errors_by_kind", errors}});
  }
  return all;
}

}  // namespace hit::cli

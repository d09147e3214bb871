#pragma once
// target_report: the breakdown of a --targets run by target, for the text report and the JSON
// one: per named target (load_test::target_names(), summary::by_target index for index), its
// requests, errors, success ratio, latency percentiles, status codes and errors by kind.

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "hit/stats/summary.hpp"

namespace hit::cli {

// "By target" and a table, one row per name; empty when the run had no targets.
std::string target_table(const stats::summary& s, const std::vector<std::string>& names);

// [{name, requests, successes, errors, success_ratio, latency_s: {p50, p90, p99, mean, max},
//   status_codes: {"200": n, ...}, errors_by_kind: {kind: n}}], one per name; [] without targets.
nlohmann::json targets_json(const stats::summary& s, const std::vector<std::string>& names);

}  // namespace hit::cli

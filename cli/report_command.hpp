#pragma once
// `hit report FILE...`: reads results files (hit --save), merges several exactly or compares
// two (--compare A B), and writes the report as text, JSON, CSV (the timeline) or HTML.
// Exit codes: 0, 2 (a file is missing, corrupt, foreign or newer: one line naming it), 1 (the
// report cannot be written).

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "options.hpp"
#include "results_file.hpp"

namespace hit::cli {

int report_command(const report_options& o);

// The comparison of two runs, as text and as JSON: throughput, success, errors, latency
// percentiles, with B - A and B / A.
std::string compare_text(const run_record& a, const run_record& b);
std::string compare_json(const run_record& a, const run_record& b);  // JSON text

// The results header line of a report read from files ("3 files merged: ...").
std::string results_header(const run_record& r, const std::vector<std::string>& files);

}  // namespace hit::cli

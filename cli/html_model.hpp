#pragma once
// The HTML report's data: one run, or two compared, as the JSON "view model" the page draws
// (cli/html_report.hpp renders it). Everything the page shows is computed here, in C++, from
// the exact histograms; the page's script only draws.

#include <nlohmann/json_fwd.hpp>
#include <vector>

#include "results_file.hpp"
#include "threshold.hpp"

namespace hit::cli {

// `runs`: one (a run, or files merged) or two (A, B: --compare). `thresholds`: per run, the
// evaluated thresholds as JSON objects ({expression, pass, observed}), or empty.
// The thresholds as the page lists them: [{expression, pass, observed}].
nlohmann::json html_thresholds(const std::vector<threshold_result>& verdicts);

nlohmann::json html_model(const std::vector<const run_record*>& runs,
                          const std::vector<nlohmann::json>& thresholds = {});

}  // namespace hit::cli

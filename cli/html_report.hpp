#pragma once
// The HTML report: one self-contained page (charts and tables, dygraphs embedded) drawn from a
// view model, for one run or two compared. It opens offline, from a file, in any current browser.

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace hit::cli {

// The page for `model`, the view model described in docs/results.md: {"title", "generated_by",
// "runs": [one run, or two: A then B]}. The page's script draws it; optional parts that are
// missing or empty (thresholds, timeline, distribution) are said to be missing in the page.
// Strings in the model are never markup: they are shown as text, and the model is embedded so
// that none can end its script element. Invalid UTF-8 is replaced by U+FFFD. Pure: no I/O.
std::string html_report(const nlohmann::json& model);

}  // namespace hit::cli

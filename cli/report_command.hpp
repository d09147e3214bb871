#pragma once
// `hit report FILE...`: reads results files (hit --save), merges several exactly or compares
// two (--compare A B), and writes the report as text, JSON, CSV (the timeline) or HTML.
// Exit codes: 0; 1 (the report cannot be written); 2 (bad options, or a file missing, corrupt,
// foreign or newer: one line naming it); 3 (a --threshold failed on the merged results).

#include <string>

#include "options.hpp"

namespace hit::cli {

int report_command(const report_options& o);

}  // namespace hit::cli

#pragma once
// Results files (`hit --save FILE`, read by `hit report`): a run's complete, exactly mergeable
// record. JSON, versioned ("format": "hit-results", "version": 1, or 2 for a shard), documented in
// docs/results.md: the run's configuration, its wall-clock start, every counter, every
// histogram at full resolution (sparse: only non-empty buckets), and the timeline.
//
// JSON rather than a binary format: readable with jq, no new dependency, and small enough with
// sparse, delta-coded buckets (docs/results.md measures an hour at the top rate). The timeline
// is written one interval at a time, so writing never holds a second copy of it.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hit/result.hpp"
#include "hit/stats/summary.hpp"
#include "options.hpp"

namespace hit::cli {

// The newest format this hit reads and writes. Version 2 is a shard's file: its "shard" field
// changes how files merge (a reader of version 1 would add up the shards' rates and skip the
// shard checks), so only a shard's file is written as version 2; every other file stays
// version 1, which every reader reads.
inline constexpr int results_version = 2;

// One run as a file keeps it: what was asked (as run_options fields the report reads), when,
// and what happened.
struct run_record {
  run_options options;  // the fields a report shows; the request body is not kept
  stats::summary summary;
  std::chrono::system_clock::time_point start;
  bool interrupted = false;
  bool stopped_by_threshold = false;  // --abort-on-threshold stopped the run
  // Paced runs: the schedule's average rate while sending (kept: a merge adds them up).
  double scheduled_rate = 0;
  std::string label;   // the file name (or "this run")
  unsigned parts = 1;  // results merged into this one
  // --start-at: how long after it this process started (nullopt without --start-at).
  std::optional<std::chrono::nanoseconds> start_late;
  // The shards behind these results: this one (options.shard), or those merged.
  shard_set shards;
  // --targets: the breakdown's names, summary.by_target's index for index (empty without).
  std::vector<std::string> target_names;
};

// The shard set of one process's results: its shard, and whether it started late.
shard_set own_shards(const run_options& o, std::optional<std::chrono::nanoseconds> start_late);

// Writes `r` to `path` (replacing it). Fails with one line naming the file.
result<void> save_results(const run_record& r, const std::string& path);

// Reads a results file. Fails with one line naming the file and the problem: missing or
// unreadable, not JSON or truncated, not a hit results file, a newer version, or inconsistent
// content (counts that do not add up, histograms whose buckets disagree with their totals).
result<run_record> load_results(const std::string& path);
// The same from the file's text; `path` names it in messages.
result<run_record> parse_results(std::string_view text, const std::string& path);

// Merges results of the same test run on several machines or processes (shards): counts add,
// histograms and timelines merge exactly, timelines aligned by wall clock (each shard's
// intervals move by its start's offset from the earliest, rounded to whole intervals). The
// configuration is the first's, with connections and rates added up. Fails when the timelines
// cannot align (widths that are not power-of-two multiples of each other).
//
// Shards of one run (docs/distributed.md) must all say the same run (shard count, URL, method,
// schedule, rate, duration, --start-at); a shard given twice fails, and so does a missing one
// unless `partial`. Their -n shares add up to the run's; their rate is the run's already.
result<run_record> merge_results(std::vector<run_record> parts, bool partial = false);

}  // namespace hit::cli

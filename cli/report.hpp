#pragma once
// The report: what a run did, as text a person reads and as JSON a program reads.

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "hit/stats/summary.hpp"
#include "options.hpp"

namespace hit::cli {

struct run_context {
  const run_options& options;
  bool interrupted = false;
  bool stopped_by_threshold = false;  // --abort-on-threshold stopped the run
  // From a results file: the schedule's average rate as the run computed it (the file keeps no
  // schedule object; merged shards add theirs up).
  std::optional<double> scheduled_rate = std::nullopt;
  // Sharded or --start-at runs: the shards behind the results, and which started late.
  const shard_set* shards = nullptr;
  // --targets: the breakdown's names (load_test::target_names()); null or empty without.
  const std::vector<std::string>* target_names = nullptr;
};

// "HOST:PORT", or "[V6]:PORT" for an IPv6 address, printable.
std::string host_port(std::string_view host, std::string_view port);

// Paced runs: the schedule's average rate over the part of the run that sent requests (this
// shard's share of it, for a shard).
double scheduled_rate(const stats::summary& s, const run_context& ctx);

std::string text_report(const stats::summary& s, const run_context& ctx);
nlohmann::json json_report(const stats::summary& s, const run_context& ctx);

// The ASCII latency histogram: `rows` bins between fastest and slowest, log-spaced when the
// range spans more than a decade, each with its count and a bar scaled to the largest bin.
std::string latency_histogram(const stats::histogram& h, int rows = 10, int width = 40);

}  // namespace hit::cli

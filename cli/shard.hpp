#pragma once
// Scale-out (docs/distributed.md): which shard of a run this process is, the share of the
// one-machine run it takes, and the common start. N processes started by Kubernetes, MPI, Slurm
// or by hand run together exactly what one would; `hit report` merges their results files.
//
// No MPI library is linked: the engines' environment variables are enough.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hit/result.hpp"

namespace hit::cli {

// The most shards a run may have: far more machines than anyone starts, and small enough that
// shards x loops never overflows a schedule index.
inline constexpr unsigned max_shards = 100'000;

struct shard_id {
  unsigned index = 0;
  unsigned count = 1;
  std::string source;  // where the identity came from: "--shard", "Open MPI", ... ("" alone)
  [[nodiscard]] bool sharded() const noexcept { return count > 1; }
};

// The environment a process was started in, as getenv: nullptr when unset.
using environment = std::function<const char*(const char*)>;

// This process's shard: `--shard I/N` when given (it wins), else the first of Open MPI
// (OMPI_COMM_WORLD_RANK/SIZE), PMI (PMI_RANK/SIZE), srun's job step (SLURM_PROCID with
// SLURM_STEP_NUM_TASKS: not a batch script's allocation) and a Kubernetes
// Indexed Job (JOB_COMPLETION_INDEX, counted by `--shards N` or HIT_SHARDS) that is set; else
// shard 0 of 1. `shard_text`/`shards_text` are the options as typed (nullopt: not given). Fails
// with one line (exit 2) on malformed values, an index outside [0, N), a count that disagrees
// with the engine's, or a Kubernetes index without a count.
result<shard_id> detect_shard(const std::optional<std::string>& shard_text,
                              const std::optional<std::string>& shards_text,
                              const environment& env);

// Shard s's share of `total` items dealt round-robin (item k to shard k mod N): the floor or the
// ceiling of total / N, the first total mod N shards taking one more. The shares add up to
// `total`; for a schedule it is exactly the count of indices k < total with k mod N == s.
constexpr std::uint64_t share_of(std::uint64_t total, const shard_id& s) noexcept {
  return total / s.count + (s.index < total % s.count ? 1 : 0);
}

// The part of `total` items that goes with weights [from, to) of `of` when the items are split
// in proportion to the weights (connections): floor(total * to / of) - floor(total * from / of),
// computed without overflow. The parts of consecutive ranges add up to `total`.
constexpr std::uint64_t proportional_share(std::uint64_t total, std::uint64_t from,
                                           std::uint64_t to, std::uint64_t of) noexcept {
  const auto upto = [&](std::uint64_t k) { return total / of * k + total % of * k / of; };
  return upto(to) - upto(from);
}

// `path` with every "{shard}" replaced by the shard's index.
std::string expand_shard(std::string_view path, const shard_id& s);

// --start-at: RFC 3339 ("2026-11-24T10:00:00Z", "...T10:00:00.5+01:00"; a space or a lowercase
// t/z accepted) or Unix seconds ("1795000000", "1795000000.25"). Fails with one line.
result<std::chrono::system_clock::time_point> parse_start_time(std::string_view text);

// A shard is late when it starts this long after --start-at: it says so in its report and its
// results file, and `hit report` names it.
inline constexpr std::chrono::seconds late_start{1};

// What a report says about the shards behind it: one process's, or a merge's.
struct shard_set {
  unsigned count = 1;             // N: the run's shards
  std::vector<unsigned> present;  // the indices these results hold, ascending
  // Shards that started more than `late_start` after --start-at, with how late.
  std::vector<std::pair<unsigned, std::chrono::nanoseconds>> late;
  [[nodiscard]] std::vector<unsigned> missing() const;
  [[nodiscard]] bool sharded() const noexcept { return count > 1; }
};

// "0-2, 5, 7-9": indices as ranges, for messages and reports.
std::string index_list(const std::vector<unsigned>& indices);

}  // namespace hit::cli

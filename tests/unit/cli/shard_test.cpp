#include "shard.hpp"

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "options.hpp"
#include "results_file.hpp"

using namespace std::chrono_literals;
using hit::cli::detect_shard;
using hit::cli::shard_id;

namespace {

// A fake environment: the variables a test sets, nothing else.
struct fake_env {
  std::map<std::string, std::string> vars;
  hit::cli::environment get() const {
    return [this](const char* name) -> const char* {
      const auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

hit::result<shard_id> detect(const fake_env& env, std::optional<std::string> shard = std::nullopt,
                             std::optional<std::string> shards = std::nullopt) {
  return detect_shard(shard, shards, env.get());
}

hit::cli::parsed parse(std::vector<const char*> args, const fake_env& env) {
  args.insert(args.begin(), "hit");
  return hit::cli::parse_command_line(static_cast<int>(args.size()), args.data(), env.get());
}

}  // namespace

TEST(shard, unsharded_without_an_engine_or_option) {
  const auto s = detect({});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->index, 0u);
  EXPECT_EQ(s->count, 1u);
  EXPECT_FALSE(s->sharded());
}

TEST(shard, every_engine_is_detected) {
  struct engine_case {
    std::map<std::string, std::string> vars;
    const char* source;
  };
  const std::vector<engine_case> cases = {
      {{{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}}, "Open MPI"},
      {{{"PMI_RANK", "2"}, {"PMI_SIZE", "4"}}, "PMI"},
      {{{"SLURM_PROCID", "2"}, {"SLURM_STEP_NUM_TASKS", "4"}, {"SLURM_NTASKS", "8"}}, "Slurm"},
      {{{"JOB_COMPLETION_INDEX", "2"}, {"HIT_SHARDS", "4"}}, "Kubernetes"},
  };
  for (const auto& c : cases) {
    const auto s = detect({c.vars});
    ASSERT_TRUE(s) << c.source << ": " << s.error();
    EXPECT_EQ(s->index, 2u) << c.source;
    EXPECT_EQ(s->count, 4u) << c.source;
    EXPECT_EQ(s->source, c.source);
  }
  // Kubernetes with --shards instead of HIT_SHARDS.
  const auto k = detect({{{"JOB_COMPLETION_INDEX", "3"}}}, std::nullopt, "4");
  ASSERT_TRUE(k) << k.error();
  EXPECT_EQ(k->index, 3u);
  EXPECT_EQ(k->count, 4u);
}

TEST(shard, the_option_wins_and_mpi_wins_over_slurm) {
  const fake_env both{{{"OMPI_COMM_WORLD_RANK", "1"},
                       {"OMPI_COMM_WORLD_SIZE", "3"},
                       {"SLURM_PROCID", "0"},
                       {"SLURM_STEP_NUM_TASKS", "1"}}};
  const auto mpi = detect(both);
  ASSERT_TRUE(mpi) << mpi.error();
  EXPECT_EQ(mpi->source, "Open MPI");
  EXPECT_EQ(mpi->index, 1u);
  const auto opt = detect(both, "4/5");
  ASSERT_TRUE(opt) << opt.error();
  EXPECT_EQ(opt->source, "--shard");
  EXPECT_EQ(opt->index, 4u);
  EXPECT_EQ(opt->count, 5u);
}

// What is not a shard of a run: a Slurm batch script (and what it runs outside srun) has the
// allocation's SLURM_PROCID=0 and SLURM_NTASKS, not a job step's count; an salloc shell has
// SLURM_NTASKS alone; one shard of one is the whole run.
TEST(shard, a_slurm_allocation_outside_srun_and_one_shard_are_unsharded) {
  for (const auto& vars : std::vector<std::map<std::string, std::string>>{
           {{"SLURM_PROCID", "0"}, {"SLURM_NTASKS", "4"}},
           {{"SLURM_NTASKS", "4"}},
           {{"HIT_SHARDS", "1"}}}) {
    const auto s = detect({vars});
    ASSERT_TRUE(s) << s.error();
    EXPECT_FALSE(s->sharded()) << s->source;
  }
  const auto one = detect({}, std::nullopt, "1");
  ASSERT_TRUE(one) << one.error();
  EXPECT_FALSE(one->sharded());
}

TEST(shard, bad_identities_are_one_line_errors) {
  const std::vector<std::pair<hit::result<shard_id>, std::string>> cases = {
      {detect({}, "4/4"), "outside the 4 shards"},
      {detect({}, "1"), "--shard wants I/N"},
      {detect({}, "a/4"), "whole number"},
      {detect({}, "0/0"), "from 1 to"},
      {detect({}, "-1/4"), "whole number"},
      {detect({}, "0/4", "3"), "disagrees"},
      {detect({{{"OMPI_COMM_WORLD_RANK", "4"}, {"OMPI_COMM_WORLD_SIZE", "4"}}}), "outside"},
      {detect({{{"OMPI_COMM_WORLD_RANK", "1"}}}), "OMPI_COMM_WORLD_SIZE is not"},
      {detect({{{"SLURM_PROCID", "x"}, {"SLURM_STEP_NUM_TASKS", "4"}}}), "whole number"},
      {detect({{{"PMI_RANK", "0"}, {"PMI_SIZE", "2"}}}, std::nullopt, "3"), "disagrees"},
      {detect({{{"JOB_COMPLETION_INDEX", "1"}}}), "not the shard count"},
      {detect({{{"JOB_COMPLETION_INDEX", "4"}, {"HIT_SHARDS", "4"}}}), "outside"},
      {detect({{{"HIT_SHARDS", "4"}}}), "needs each process's index"},
      {detect({}, std::nullopt, "4"), "needs each process's index"},
      {detect({}, "0/1000000"), "from 1 to"},
  };
  for (const auto& [r, words] : cases) {
    ASSERT_FALSE(r) << words;
    EXPECT_NE(r.error().find(words), std::string::npos) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
  }
}

TEST(shard, shares_add_up_and_match_the_schedules_stride) {
  for (const std::uint64_t total : {0u, 1u, 3u, 4u, 5u, 1000u, 1003u}) {
    for (const unsigned n : {1u, 2u, 3u, 4u, 7u}) {
      std::uint64_t sum = 0;
      for (unsigned i = 0; i < n; ++i) {
        const auto share = hit::cli::share_of(total, {i, n, ""});
        std::uint64_t strided = 0;  // indices k < total with k mod n == i
        for (std::uint64_t k = i; k < total; k += n) ++strided;
        EXPECT_EQ(share, strided) << total << " over " << n;
        EXPECT_LE(share, total / n + 1);
        EXPECT_GE(share, total / n);
        sum += share;
      }
      EXPECT_EQ(sum, total);
    }
  }
}

TEST(shard, file_names_expand_the_index) {
  const shard_id s{3, 8, "--shard"};
  EXPECT_EQ(hit::cli::expand_shard("results/run-{shard}.json", s), "results/run-3.json");
  EXPECT_EQ(hit::cli::expand_shard("{shard}/{shard}", s), "3/3");
  EXPECT_EQ(hit::cli::expand_shard("run.json", s), "run.json");
  EXPECT_EQ(hit::cli::expand_shard("{shar}", s), "{shar}");
}

TEST(shard, start_times_in_rfc3339_and_unix_seconds) {
  using std::chrono::system_clock;
  const auto unix_s = [](auto t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
  };
  const auto t = hit::cli::parse_start_time("2026-11-24T10:00:00Z");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(unix_s(*t), 1795514400.0);
  const auto offset = hit::cli::parse_start_time("2026-11-24T11:30:00.25+01:30");
  ASSERT_TRUE(offset) << offset.error();
  EXPECT_DOUBLE_EQ(unix_s(*offset), 1795514400.25);
  const auto lower = hit::cli::parse_start_time("2026-11-24 09:00:00-01:00");
  ASSERT_TRUE(lower) << lower.error();
  EXPECT_EQ(*lower, *t);
  // A leap second is the next minute's first; digits past nanoseconds are dropped; z and -00:00
  // are UTC.
  const auto leap = hit::cli::parse_start_time("2026-11-24T09:59:60z");
  ASSERT_TRUE(leap) << leap.error();
  EXPECT_EQ(*leap, *t);
  const auto fine = hit::cli::parse_start_time("2026-11-24T10:00:00.1234567899-00:00");
  ASSERT_TRUE(fine) << fine.error();
  EXPECT_EQ(*fine - *t, std::chrono::nanoseconds(123456789));
  const auto secs = hit::cli::parse_start_time("1795514400.5");
  ASSERT_TRUE(secs) << secs.error();
  EXPECT_DOUBLE_EQ(unix_s(*secs), 1795514400.5);
  for (const char* bad :
       {"", "tomorrow", "2026-11-24", "2026-11-24T10:00:00", "2026-02-30T10:00:00Z",
        "2026-11-24T24:00:00Z", "2026-11-24T10:00:00+1:00", "2026-11-24T10:00:00.Z", "1795514400.",
        "-5", "1e9", "99999999999999999999", "2026-11-24T10:00:00Zjunk"}) {
    const auto r = hit::cli::parse_start_time(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().find("--start-at wants"), std::string::npos) << r.error();
    }
  }
}

TEST(shard, index_lists_are_ranges) {
  EXPECT_EQ(hit::cli::index_list({}), "");
  EXPECT_EQ(hit::cli::index_list({2}), "2");
  EXPECT_EQ(hit::cli::index_list({0, 1, 2, 5, 7, 8, 9}), "0-2, 5, 7-9");
  hit::cli::shard_set s;
  s.count = 5;
  s.present = {1, 3};
  EXPECT_EQ(s.missing(), (std::vector<unsigned>{0, 2, 4}));
}

// The command line splits the one-machine run: -n round-robin, -c and the pool floor/ceil; the
// rate stays whole (the engine strides through it).
TEST(shard, options_take_this_shards_share) {
  const fake_env mpi3{{{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "3"}}};
  // Paced: -n round-robin, as the schedule.
  auto p = parse({"-n", "1000", "-c", "9", "--rps", "300", "http://h/"}, mpi3);
  ASSERT_EQ(p.what, hit::cli::parsed::action::run) << p.message;
  EXPECT_EQ(p.run.requests, 333u);  // 1000 = 334 + 333 + 333
  EXPECT_EQ(p.run.concurrency, 3u);
  EXPECT_EQ(p.run.rps, 300.0);
  EXPECT_EQ(p.run.shard.index, 2u);
  // Unpaced: -n with the connections (10 = 4 + 3 + 3), so that no shard runs longer.
  p = parse({"-n", "1000", "-c", "10", "http://h/"}, mpi3);
  ASSERT_EQ(p.what, hit::cli::parsed::action::run) << p.message;
  EXPECT_EQ(p.run.requests, 300u);
  EXPECT_EQ(p.run.concurrency, 3u);
  p = parse({"--rate", "100", "-z", "1s", "--workers", "7", "--max-workers", "20", "http://h/"},
            mpi3);
  ASSERT_EQ(p.what, hit::cli::parsed::action::run) << p.message;
  EXPECT_EQ(p.run.workers, 2u);
  EXPECT_EQ(p.run.max_workers, 6u);
  // The shares of every shard add up to the whole.
  unsigned c = 0;
  std::uint64_t n = 0;
  for (const char* i : {"0/3", "1/3", "2/3"}) {
    const auto q = parse({"--shard", i, "-n", "1000", "-c", "10", "http://h/"}, {});
    ASSERT_EQ(q.what, hit::cli::parsed::action::run) << q.message;
    c += q.run.concurrency;
    n += q.run.requests;
  }
  EXPECT_EQ(c, 10u);
  EXPECT_EQ(n, 1000u);
}

TEST(shard, options_refuse_what_shards_cannot_do) {
  const fake_env none;
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--shard", "3/4", "-c", "3", "http://h/"}, "-c 3 leaves shard 3 of 4 without"},
      // Unpaced, -n follows the connections (13, 13, 12, 12 of the default 50): shard 0's
      // part of 3 is floor(3 * 13 / 50) = 0.
      {{"--shard", "0/4", "-n", "3", "http://h/"}, "-n 3 leaves shard 0 of 4 nothing"},
      {{"--shard", "3/4", "-n", "3", "--rps", "10", "-c", "4", "http://h/"},
       "-n 3 leaves shard 3 of 4 nothing"},
      {{"--shard", "3/4", "--rate", "10", "-z", "1s", "--max-workers", "2", "http://h/"},
       "--max-workers 2 leaves"},
      {{"--shard", "1/2", "--save", "run.json", "http://h/"}, "put {shard} in it"},
      {{"--shard", "1/2", "--html", "r.html", "http://h/"}, "put {shard} in it"},
      {{"--start-at", "soon", "http://h/"}, "--start-at wants"},
      {{"--start-at", "4000000000", "http://h/"}, "more than a day ahead"},
      {{"--start-at", "1000000000", "http://h/"}, "more than a day ago"},
      {{"--shard", "1/4", "-c", "10", "--rps", "100", "http://h/"},
       "-c 10 does not split evenly over 4 shards with --rps"},
      {{"--shard", "1/2", "--live", "l.ndjson", "http://h/"}, "'live-{shard}.ndjson'"},
  };
  for (const auto& [args, words] : cases) {
    const auto p = parse(args, none);
    EXPECT_EQ(p.what, hit::cli::parsed::action::exit) << words;
    EXPECT_EQ(p.exit_code, hit::cli::exit_usage) << words;
    EXPECT_NE(p.message.find(words), std::string::npos) << p.message;
  }
  // {shard} expands, and --save - needs none.
  auto p = parse({"--shard", "1/2", "--save", "/tmp/run-{shard}.json", "http://h/"}, none);
  ASSERT_EQ(p.what, hit::cli::parsed::action::run) << p.message;
  EXPECT_EQ(p.run.save_file, "/tmp/run-1.json");
  p = parse({"--shard", "1/2", "--save", "-", "http://h/"}, none);
  ASSERT_EQ(p.what, hit::cli::parsed::action::run) << p.message;
  EXPECT_TRUE(p.run.save_to_stdout());
}

namespace {

// A results record of shard `index` of `count`, with `requests` successes.
hit::cli::run_record shard_record(unsigned index, unsigned count, std::uint64_t requests) {
  hit::cli::run_record r;
  r.options.url_text = "http://h/";
  r.options.request.method = "GET";
  r.options.rps = 100;
  r.options.requests = requests;
  r.options.shard = {index, count, "--shard"};
  r.summary.requests = requests;
  r.summary.successes = requests;
  r.summary.status_counts[200] = requests;
  for (std::int64_t k = 1; k <= static_cast<std::int64_t>(requests); ++k)
    r.summary.latency.record(1000 * k);
  r.label = "run-" + std::to_string(index) + ".json";
  r.shards = hit::cli::own_shards(r.options, std::nullopt);
  r.scheduled_rate = 100.0 / count;
  return r;
}

}  // namespace

TEST(shard, a_merge_of_every_shard_is_the_whole_run) {
  std::vector<hit::cli::run_record> parts;
  for (unsigned i = 0; i < 3; ++i) parts.push_back(shard_record(i, 3, 10 + i));
  const auto m = hit::cli::merge_results(std::move(parts));
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->summary.requests, 33u);
  EXPECT_EQ(m->options.requests, 33u);  // the shares add up to -n
  EXPECT_EQ(m->options.rps, 100.0);     // each kept the whole rate
  EXPECT_DOUBLE_EQ(m->scheduled_rate, 100.0);
  EXPECT_EQ(m->shards.present, (std::vector<unsigned>{0, 1, 2}));
  EXPECT_TRUE(m->shards.missing().empty());
}

TEST(shard, a_merge_flags_missing_duplicate_and_foreign_shards) {
  const auto merge = [](std::vector<hit::cli::run_record> parts, bool partial = false) {
    return hit::cli::merge_results(std::move(parts), partial);
  };
  auto missing = merge({shard_record(0, 4, 5), shard_record(2, 4, 5)});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("shards 1, 3 of 4 are missing"), std::string::npos)
      << missing.error();
  auto partial = merge({shard_record(0, 4, 5), shard_record(2, 4, 5)}, true);
  ASSERT_TRUE(partial) << partial.error();
  EXPECT_EQ(partial->shards.missing(), (std::vector<unsigned>{1, 3}));
  EXPECT_EQ(partial->summary.requests, 10u);

  auto twice = merge({shard_record(0, 2, 5), shard_record(1, 2, 5), shard_record(1, 2, 5)}, true);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().find("shard 1 of 2 is given twice"), std::string::npos) << twice.error();

  auto counts = merge({shard_record(0, 2, 5), shard_record(1, 3, 5)});
  ASSERT_FALSE(counts);
  EXPECT_NE(counts.error().find("one of 2 shards"), std::string::npos) << counts.error();

  auto mixed = merge({shard_record(0, 2, 5), shard_record(0, 1, 5)});
  ASSERT_FALSE(mixed);
  EXPECT_NE(mixed.error().find("not a shard"), std::string::npos) << mixed.error();

  auto other = shard_record(1, 2, 5);
  other.options.url_text = "http://elsewhere/";
  auto foreign = merge({shard_record(0, 2, 5), other});
  ASSERT_FALSE(foreign);
  EXPECT_NE(foreign.error().find("different runs: their URLs differ"), std::string::npos)
      << foreign.error();
}

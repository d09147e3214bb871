// Scale-out end to end: one run split into 4 shards, started three ways — under Open MPI's
// mpirun, as four processes with --shard I/4, and as a Kubernetes Indexed Job would (with
// JOB_COMPLETION_INDEX and HIT_SHARDS) — at a common --start-at, against `hit serve` on
// loopback. Their results files merged by `hit report` must be the one-machine run: 20 000
// requests for --rate 4000 -z 5s, a histogram that is the sum of the shards', and thresholds
// judged on the merge.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "results_file.hpp"

using namespace std::chrono_literals;
using hit::test::finish;
using hit::test::run_hit;
using hit::test::server;
using hit::test::spawn;
using json = nlohmann::json;

namespace {

constexpr unsigned shards = 4;
constexpr const char* mpirun = "/usr/bin/mpirun";

struct temp_dir : hit::test::temp_dir {
  temp_dir() : hit::test::temp_dir("hit_distributed_test_") {}
};

// A common start a few seconds ahead (Unix seconds): time for every process to be ready.
std::string start_in(std::chrono::milliseconds d) {
  const auto t = std::chrono::system_clock::now() + d;
  return std::to_string(std::chrono::duration<double>(t.time_since_epoch()).count());
}

// The run every test splits: 4000 requests/s for 5 s in all, one event loop per shard.
std::vector<std::string> run_args(const std::string& start_at, const std::string& save,
                                  const std::string& url) {
  return {"--rate",     "4000",   "-z",     "5s", "--threads", "1",
          "--start-at", start_at, "--save", save, url};
}

std::string shell_quote(const std::vector<std::string>& args) {
  std::string out;
  for (const auto& a : args) out += " '" + a + "'";
  return out;
}

hit::test::result report(std::vector<std::string> args) {
  args.insert(args.begin(), "report");
  return run_hit(args, 30s);
}

std::vector<std::string> shard_files(const temp_dir& d) {
  std::vector<std::string> files;
  for (unsigned i = 0; i < shards; ++i) files.push_back(d / ("run-" + std::to_string(i) + ".json"));
  return files;
}

// Starts the command `argv_of(i)` for every shard i at once; each must exit 0.
template <class Argv>
void start_each_shard(Argv argv_of) {
  std::vector<hit::test::child> children;
  for (unsigned i = 0; i < shards; ++i) children.push_back(spawn(argv_of(i)));
  hit::test::expect_all_succeed(std::move(children), 60s);
}

// What every way of starting the shards must give: checked on their results files.
void expect_one_run(const temp_dir& d, const std::string& source) {
  const auto files = shard_files(d);
  hit::stats::histogram sum;
  std::uint64_t requests = 0;
  for (unsigned i = 0; i < shards; ++i) {
    auto r = hit::cli::load_results(files[i]);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->options.shard.index, i);
    EXPECT_EQ(r->options.shard.count, shards);
    EXPECT_EQ(r->options.shard.source, source);
    // Each shard took a quarter of the schedule: 1000/s.
    EXPECT_NEAR(r->scheduled_rate, 1000, 10) << files[i];
    EXPECT_NEAR(static_cast<double>(r->summary.requests), 5000, 50) << files[i];
    EXPECT_TRUE(r->shards.late.empty()) << files[i] << " started late";
    sum.merge(r->summary.latency);
    requests += r->summary.requests;
  }

  // The merge: every request, thresholds judged across the shards. rps>=3000 holds for the
  // whole run (~4000/s) and fails for any one shard (~1000/s).
  auto args = files;
  args.insert(args.end(), {"-o", "json", "--threshold", "rps>=3000", "--threshold", "errors==0"});
  const auto merged = report(args);
  ASSERT_EQ(merged.exit_code, 0) << merged.err;
  const auto j = json::parse(merged.out);
  EXPECT_EQ(j["requests"].get<std::uint64_t>(), requests);
  EXPECT_NEAR(j["requests"].get<double>(), 20000, 200);  // ±1%
  EXPECT_NEAR(j["target_rps"].get<double>(), 4000, 40);
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["shards"]["count"], shards);
  EXPECT_EQ(j["shards"]["present"], json({0, 1, 2, 3}));
  EXPECT_TRUE(j["shards"]["missing"].empty());
  ASSERT_EQ(j["thresholds"].size(), 2u);
  for (const auto& t : j["thresholds"]) EXPECT_TRUE(t["pass"].get<bool>()) << t.dump();
  // The merged histogram is the sum of the shards': the same percentiles, to the nanosecond.
  EXPECT_EQ(sum.count(), requests);  // no errors: a latency per request
  for (const auto& [key, p] :
       {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}})
    EXPECT_DOUBLE_EQ(j["latency_s"][key].get<double>(),
                     static_cast<double>(sum.percentile(p)) / 1e9)
        << key;
  EXPECT_DOUBLE_EQ(j["latency_s"]["slowest"].get<double>(), static_cast<double>(sum.max()) / 1e9);
  EXPECT_DOUBLE_EQ(j["latency_s"]["fastest"].get<double>(), static_cast<double>(sum.min()) / 1e9);

  const auto one = report({files[0], "--partial", "--threshold", "rps>=3000"});
  EXPECT_EQ(one.exit_code, 3) << "one shard alone should fail rps>=3000: " << one.out << one.err;
  EXPECT_NE(one.out.find("Shard:         0 of 4"), std::string::npos) << one.out;
}

}  // namespace

TEST(distributed, mpirun_starts_the_shards) {
  if (!std::filesystem::exists(mpirun))
    GTEST_SKIP() << "no mpirun (scripts/setup installs openmpi-bin)";
  server s({"--threads", "1"});
  temp_dir d;
  auto cmd = std::string("exec ") + mpirun + " --oversubscribe --allow-run-as-root -np 4 " +
             HIT_EXE + shell_quote(run_args(start_in(2500ms), d / "run-{shard}.json", s.url()));
  const auto r = finish(spawn({"/bin/bash", "-c", cmd}), 60s, [](auto) {});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  expect_one_run(d, "Open MPI");
}

TEST(distributed, shard_options_start_the_shards) {
  server s({"--threads", "1"});
  temp_dir d;
  const auto at = start_in(2s);
  start_each_shard([&](unsigned i) {
    auto args = run_args(at, d / "run-{shard}.json", s.url());
    args.insert(args.begin(), {HIT_EXE, "--shard", std::to_string(i) + "/4"});
    return args;
  });
  expect_one_run(d, "--shard");

  // A missing shard is refused unless --partial, and then named; a duplicate is refused.
  const auto files = shard_files(d);
  const auto three = report({files[0], files[1], files[2]});
  EXPECT_EQ(three.exit_code, 2);
  EXPECT_NE(three.err.find("shard 3 of 4 is missing"), std::string::npos) << three.err;
  const auto partial = report({files[0], files[1], files[2], "--partial", "-o", "json"});
  ASSERT_EQ(partial.exit_code, 0) << partial.err;
  EXPECT_EQ(json::parse(partial.out)["shards"]["missing"], json({3}));
  const auto text = report({files[0], files[1], files[2], "--partial"});
  EXPECT_NE(text.out.find("Shards:        3 of 4 merged (partial: missing 3)"), std::string::npos)
      << text.out;
  std::filesystem::copy_file(files[1], d / "copy.json");
  const auto twice = report({files[0], files[1], files[2], files[3], d / "copy.json"});
  EXPECT_EQ(twice.exit_code, 2);
  EXPECT_NE(twice.err.find("shard 1 of 4 is given twice"), std::string::npos) << twice.err;
}

TEST(distributed, a_kubernetes_indexed_job_starts_the_shards) {
  server s({"--threads", "1"});
  temp_dir d;
  const auto at = start_in(2s);
  start_each_shard([&](unsigned i) {
    // As the Job's pods get them: the index from Kubernetes, the count from the manifest.
    const auto cmd = "JOB_COMPLETION_INDEX=" + std::to_string(i) + " HIT_SHARDS=4 exec " +
                     std::string(HIT_EXE) +
                     shell_quote(run_args(at, d / "run-{shard}.json", s.url()));
    return std::vector<std::string>{"/bin/bash", "-c", cmd};
  });
  expect_one_run(d, "Kubernetes");
}

// --save -: the results file on standard output (what `kubectl logs` collects), the report on
// standard error.
TEST(distributed, save_to_standard_output) {
  server s({"--threads", "1"});
  const auto r = run_hit({"--shard", "1/2", "-n", "41", "-c", "2", "--save", "-", s.url()}, 30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Shard:         1 of 2"), std::string::npos) << r.err;
  const auto parsed = hit::cli::parse_results(r.out, "stdout");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->summary.requests, 21u);  // 41 with the connections, 1 each: 20 and 21
  EXPECT_EQ(parsed->options.shard.index, 1u);
}

// A shard that starts after --start-at says so, in its report and in its results file.
TEST(distributed, a_late_start_is_reported) {
  server s({"--threads", "1"});
  temp_dir d;
  const auto r = run_hit({"--shard", "0/2", "-n", "10", "-c", "1", "--start-at", start_in(-3s),
                          "--save", d / "run-{shard}.json", s.url()},
                         30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("shard 0 of 2 started"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("Late start:    shard 0 started"), std::string::npos) << r.out;
  auto back = hit::cli::load_results(d / "run-0.json");
  ASSERT_TRUE(back) << back.error();
  ASSERT_EQ(back->shards.late.size(), 1u);
  EXPECT_GT(back->shards.late.front().second, 2s);
}

namespace {

// Runs `hit --shard i/N ARGS` for every i at once, saving run-{shard}.json in `d`; each must
// exit 0. Returns `hit report` of the files, as JSON.
json run_shards(const temp_dir& d, unsigned n, const std::vector<std::string>& args) {
  std::vector<hit::test::child> children;
  for (unsigned i = 0; i < n; ++i) {
    std::vector<std::string> a = {HIT_EXE,
                                  "--shard",
                                  std::to_string(i) + "/" + std::to_string(n),
                                  "--threads",
                                  "1",
                                  "--save",
                                  d / "run-{shard}.json"};
    a.insert(a.end(), args.begin(), args.end());
    children.push_back(spawn(a));
  }
  hit::test::expect_all_succeed(std::move(children), 60s);
  std::vector<std::string> files;
  for (unsigned i = 0; i < n; ++i) files.push_back(d / ("run-" + std::to_string(i) + ".json"));
  files.insert(files.end(), {"-o", "json"});
  const auto merged = report(files);
  EXPECT_EQ(merged.exit_code, 0) << merged.err;
  return json::parse(merged.out);
}

}  // namespace

// The closed model splits too: -n so the counts add up exactly, -c floor/ceil, and a --rps
// schedule by stride.
TEST(distributed, closed_model_shares_add_up) {
  server s({"--threads", "1"});
  {
    temp_dir d;
    const auto j = run_shards(d, 3, {"-n", "1000", "-c", "10", s.url()});
    EXPECT_EQ(j["requests"], 1000);
    EXPECT_EQ(j["concurrency"], 10);
  }
  {
    temp_dir d;
    const auto j = run_shards(d, 3, {"-n", "900", "-c", "9", "--rps", "900", s.url()});
    EXPECT_EQ(j["requests"], 900);
    EXPECT_NEAR(j["target_rps"].get<double>(), 900, 9);
    // Paced from one schedule: the run takes ~1 s (the last request is due at 899/900 s), as
    // one process at 900/s would: not 1/3 s (each shard at the whole rate) nor 3 s.
    EXPECT_GT(j["duration_s"].get<double>(), 0.95);
    EXPECT_LT(j["duration_s"].get<double>(), 1.5);
  }
}

// --stages splits by stride: the shards together send exactly the schedule's requests.
TEST(distributed, stages_split_exactly) {
  server s({"--threads", "1"});
  temp_dir d;
  // From 0 to 400/s over 1 s, then back to 0 over 1 s: 200 + 200 requests.
  const auto j = run_shards(d, 4, {"--stages", "1s:400,1s:0", s.url()});
  EXPECT_EQ(j["requests"], 400);
  EXPECT_EQ(j["not_sent"], 0);
}

// An unsharded run keeps the report and results file it always had (no shard fields, format
// version 1, which older hit reads); a shard's file is version 2 (its "shard" field changes how
// files merge, which an older reader would get wrong).
TEST(distributed, an_unsharded_run_keeps_its_schema) {
  server s({"--threads", "1"});
  temp_dir d;
  const auto r = run_hit({"-n", "10", "-c", "1", "-o", "json", "--start-at", start_in(0ms),
                          "--save", d / "one.json", s.url()},
                         30s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  for (const char* key : {"shard", "shards", "start_late_s"}) EXPECT_FALSE(j.contains(key)) << key;
  const auto file = json::parse(std::ifstream(d / "one.json"));
  EXPECT_EQ(file["version"], 1);
  EXPECT_FALSE(file.contains("shard"));
  ASSERT_EQ(
      run_hit({"--shard", "0/2", "-n", "10", "-c", "2", "--save", d / "s-{shard}.json", s.url()},
              30s)
          .exit_code,
      0);
  EXPECT_EQ(json::parse(std::ifstream(d / "s-0.json"))["version"], 2);
}

// With --save - the results file is the output: a report that stderr cannot take (a full disk)
// is exit 1, but the file is still written.
TEST(distributed, save_to_standard_output_survives_a_full_stderr) {
  server s({"--threads", "1"});
  const auto r = hit::test::run_hit_in_shell(
      "", "2>/dev/full", {"--shard", "0/2", "-n", "10", "-c", "2", "--save", "-", s.url()}, 30s);
  EXPECT_EQ(r.exit_code, 1);
  const auto parsed = hit::cli::parse_results(r.out, "stdout");
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->summary.requests, 5u);
}

// Results files end to end: runs saved with --save (two at once, as shards), read back by
// `hit report` merged, compared, as CSV; bad files refused. Against `hit serve` on loopback.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "run_json.hpp"

using namespace std::chrono_literals;
using hit::test::expect_usage_error;
using hit::test::run_hit;
using hit::test::server;
using json = nlohmann::json;

namespace {

struct temp_dir : hit::test::temp_dir {
  temp_dir() : hit::test::temp_dir("hit_results_test_") {}
};

json report_json(std::vector<std::string> args) {
  args.insert(args.begin(), "report");
  args.insert(args.end(), {"-o", "json"});
  const auto r = run_hit(args, 30s);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return json::parse(r.out);
}

std::uint64_t timeline_requests(const json& report) {
  std::uint64_t n = 0;
  for (const auto& iv : report["timeline"]) n += iv["requests"].get<std::uint64_t>();
  return n;
}

}  // namespace

TEST(results, a_saved_run_reports_what_the_run_printed) {
  server s;
  temp_dir d;
  const auto run = hit::test::run_json(
      {"-z", "1200ms", "-c", "4", "--interval", "200ms", "--save", d / "run.json", s.url()});
  const auto back = report_json({d / "run.json"});
  for (const char* k : {"requests", "successes", "errors", "bytes", "status_codes", "latency_s"})
    EXPECT_EQ(back[k], run[k]) << k;
  EXPECT_EQ(back["results"]["interval_s"], 0.2);
  // Every request is in exactly one interval, and the intervals cover the run.
  EXPECT_EQ(timeline_requests(back), run["requests"].get<std::uint64_t>());
  EXPECT_GE(back["timeline"].size(), 6u);
  EXPECT_LE(back["timeline"].size(), 8u);
}

// Two processes at once, as shards on two machines would be: the merged report's counts are
// the sums and its percentiles come from the merged histograms.
TEST(results, shards_saved_at_once_merge_exactly) {
  server s;
  temp_dir d;
  std::vector<hit::test::child> shards;
  for (const char* name : {"a.json", "b.json"})
    shards.push_back(hit::test::spawn({HIT_EXE, "-n", "3000", "-c", "4", "--save", d / name, "-o",
                                       "json", s.url(name[0] == 'a' ? "" : "?status=503")}));
  std::vector<json> runs;
  for (auto& c : shards) {
    const auto r = hit::test::finish(c, 60s, [](auto) {});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    runs.push_back(json::parse(r.out));
  }
  const auto m = report_json({d / "a.json", d / "b.json"});
  EXPECT_EQ(m["requests"], 6000);
  EXPECT_EQ(m["status_codes"]["200"], 3000);
  EXPECT_EQ(m["status_codes"]["503"], 3000);
  EXPECT_EQ(m["success_ratio"], 0.5);
  EXPECT_EQ(m["results"]["parts"], 2);
  EXPECT_EQ(timeline_requests(m), 6000u);
  // The merged p50 lies between the shards' (it is the median of all their values).
  const auto p50 = [](const json& j) { return j["latency_s"]["p50"].get<double>(); };
  EXPECT_GE(p50(m), std::min(p50(runs[0]), p50(runs[1])) * 0.99);
  EXPECT_LE(p50(m), std::max(p50(runs[0]), p50(runs[1])) * 1.01);
  EXPECT_EQ(m["latency_s"]["slowest"],
            std::max(runs[0]["latency_s"]["slowest"], runs[1]["latency_s"]["slowest"]));

  const auto c = report_json({"--compare", d / "a.json", d / "b.json"});
  EXPECT_EQ(c["comparison"]["requests"]["a"], 3000);
  EXPECT_EQ(c["comparison"]["success_ratio"]["b"], 0.0);
  EXPECT_EQ(c["a"]["requests"], 3000);

  const auto text = run_hit({"report", "--compare", d / "a.json", d / "b.json"});
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("p99.9"), std::string::npos) << text.out;

  const auto out = d / "timeline.csv";
  const auto csv = run_hit({"report", "-o", "csv", "--out", out, d / "a.json", d / "b.json"});
  EXPECT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_TRUE(csv.out.empty());
  std::ifstream in(out);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header.rfind("t_s,width_s,requests,rps,", 0), 0u) << header;
  std::uint64_t rows = 0, requests = 0;
  while (std::getline(in, line)) {
    ++rows;
    requests += std::stoull(line.substr(line.find(',', line.find(',') + 1) + 1));
  }
  EXPECT_EQ(rows, m["timeline"].size());
  EXPECT_EQ(requests, 6000u);
}

TEST(results, bad_files_and_paths_are_refused_before_anything_runs) {
  server s;
  temp_dir d;
  expect_usage_error({"-n", "5", "--save", d / "no/such/dir/x.json", s.url()}, "no directory");
  EXPECT_FALSE(std::filesystem::exists(d / "no")) << "nothing was sent, nothing written";
  expect_usage_error({"-n", "5", "--interval", "1ms", "--save", d / "x.json", s.url()},
                     "--interval");
  expect_usage_error({"report"}, "at least one results file");
  expect_usage_error({"report", "--compare", d / "x.json"}, "exactly two");
  expect_usage_error({"report", "-o", "xml", d / "x.json"}, "xml");
  ASSERT_EQ(run_hit({"-n", "50", "-c", "2", "--save", d / "ok.json", s.url()}).exit_code, 0);
  std::ifstream in(d / "ok.json");
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(d / "cut.json") << text.substr(0, text.size() - 40);
  expect_usage_error({"report", d / "ok.json", d / "cut.json"}, "cut.json");
  std::ofstream(d / "other.json") << R"({"format": "k6-summary"})";
  expect_usage_error({"report", d / "other.json"}, "not a hit results file");
  expect_usage_error({"report", d / "missing.json"}, "cannot open");
}

// --live: one JSON object per interval while the run goes; together they account for every
// request of the report, and each has the fields a watcher reads.
TEST(results, live_lines_account_for_every_request) {
  server s;
  temp_dir d;
  const auto run = hit::test::run_json({"-z", "1500ms", "-c", "4", "--threads", "2", "--interval",
                                        "250ms", "--live", d / "live.ndjson", s.url()});
  std::ifstream in(d / "live.ndjson");
  std::string line;
  std::vector<json> lines;
  while (std::getline(in, line)) lines.push_back(json::parse(line));
  ASSERT_GE(lines.size(), 6u);
  ASSERT_LE(lines.size(), 7u);
  std::uint64_t requests = 0;
  double t = 0;
  for (const auto& l : lines) {
    for (const char* k : {"t_s", "time_unix_s", "requests", "rps", "p50_s", "p99_s", "errors"})
      EXPECT_TRUE(l.contains(k)) << k << " in " << l.dump();
    EXPECT_DOUBLE_EQ(l["t_s"].get<double>(), t) << "one line per interval, in order, no gap";
    t += 0.25;
    requests += l["requests"].get<std::uint64_t>();
  }
  EXPECT_EQ(requests, run["requests"].get<std::uint64_t>());
  EXPECT_LE(lines.back()["width_s"].get<double>(), 0.25) << "the last is cut by the run's end";
}

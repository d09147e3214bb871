#include "results_file.hpp"
#include "timeline_view.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include "../stats/same_histogram.hpp"

using namespace std::chrono_literals;
using hit::cli::load_results;
using hit::cli::merge_results;
using hit::cli::run_record;
using hit::cli::save_results;
using hit::stats::error_kind;
using hit::stats::histogram;

using hit::test::expect_same;

namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("hit_results_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// A run with a bit of everything: statuses, errors of two kinds, a breakdown, a timeline.
run_record sample_run(unsigned seed, std::chrono::system_clock::time_point start, int n = 5000) {
  run_record r;
  r.options.url_text = "http://127.0.0.1:8080/x";
  r.options.request.method = "POST";
  r.options.concurrency = 7;
  r.start = start;
  r.label = "sample";
  auto& s = r.summary;
  s.timeline.enable(1s);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < n; ++i) {
    s.timeline.advance(std::chrono::milliseconds(i * 2));  // 10 s of events
    const auto pick = rng() % 20;
    const auto latency =
        std::chrono::nanoseconds(20'000 + static_cast<std::int64_t>(rng() % 9'000'000));
    if (pick == 0) {
      s.record_error(error_kind::timeout);
    } else if (pick == 1) {
      s.record_error(error_kind::reset);
    } else {
      s.record_response(pick == 2 ? 503 : 200, 120, latency, latency / 2);
      s.ttfb.record(latency / 3);
    }
  }
  s.timeline.finish();
  s.connect_time.record(150us);
  s.connections_opened = 7;
  s.connections_closed = 7;
  s.elapsed = 10s;
  s.dns = 40us;
  return r;
}

}  // namespace

TEST(results_file, round_trip_keeps_every_counter_histogram_and_interval) {
  const auto path = temp_path("round_trip.json");
  auto r = sample_run(1, std::chrono::system_clock::time_point(1'795'000'000'123'456'789ns));
  r.stopped_by_threshold = true;
  r.options.pipeline = 16;
  ASSERT_TRUE(save_results(r, path));
  const auto back = load_results(path);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->start, r.start);
  EXPECT_TRUE(back->stopped_by_threshold);
  EXPECT_FALSE(back->interrupted);
  EXPECT_EQ(back->options.url_text, r.options.url_text);
  EXPECT_EQ(back->options.request.method, "POST");
  EXPECT_EQ(back->options.concurrency, 7u);
  EXPECT_EQ(back->options.pipeline, 16u);
  const auto& a = r.summary;
  const auto& b = back->summary;
  EXPECT_EQ(a.requests, b.requests);
  EXPECT_EQ(a.successes, b.successes);
  EXPECT_EQ(a.errors, b.errors);
  EXPECT_EQ(a.bytes, b.bytes);
  EXPECT_EQ(a.status_counts, b.status_counts);
  EXPECT_EQ(a.error_counts, b.error_counts);
  EXPECT_EQ(a.elapsed, b.elapsed);
  EXPECT_EQ(a.dns, b.dns);
  EXPECT_EQ(a.connections_opened, b.connections_opened);
  expect_same(a.latency, b.latency);
  expect_same(a.service_time, b.service_time);
  expect_same(a.ttfb, b.ttfb);
  expect_same(a.connect_time, b.connect_time);
  ASSERT_EQ(a.timeline.width(), b.timeline.width());
  ASSERT_EQ(a.timeline.intervals().size(), b.timeline.intervals().size());
  ASSERT_EQ(a.timeline.intervals().size(), 10u);
  for (std::size_t i = 0; i < a.timeline.intervals().size(); ++i) {
    const auto& x = a.timeline.intervals()[i];
    const auto& y = b.timeline.intervals()[i];
    EXPECT_EQ(x.index, y.index);
    EXPECT_EQ(x.requests, y.requests);
    EXPECT_EQ(x.error_counts, y.error_counts);
    EXPECT_EQ(x.status_classes, y.status_classes);
    expect_same(x.latency.dense(), y.latency.dense());
  }
  std::filesystem::remove(path);
}

// Shards: the merged record's counts are the sums, its percentiles those of the histogram of
// every value, its timeline aligned by the shards' wall-clock starts.
TEST(results_file, merge_of_shards_is_exact_and_aligned_by_wall_clock) {
  const auto t0 = std::chrono::system_clock::time_point(1'795'000'000s);
  auto a = sample_run(1, t0);
  auto b = sample_run(2, t0 + 3s + 100ms);  // started 3.1 s later: three intervals later
  histogram all = a.summary.latency;
  all.merge(b.summary.latency);
  const auto requests = a.summary.requests + b.summary.requests;
  const auto b_first = b.summary.timeline.intervals().front();
  const auto a_fourth = a.summary.timeline.intervals()[3];
  auto m = merge_results({a, b});
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->summary.requests, requests);
  EXPECT_EQ(m->summary.errors, a.summary.errors + b.summary.errors);
  EXPECT_EQ(m->options.concurrency, 14u);
  EXPECT_EQ(m->parts, 2u);
  EXPECT_EQ(m->start, t0);
  EXPECT_EQ(m->summary.elapsed, 13100ms) << "from the first start to the last end";
  expect_same(m->summary.latency, all);
  for (const double p : {50.0, 90.0, 99.0, 99.9})
    EXPECT_EQ(m->summary.latency.percentile(p), all.percentile(p));
  const auto& iv = m->summary.timeline.intervals();
  ASSERT_EQ(iv.size(), 13u);
  EXPECT_EQ(iv[3].requests, a_fourth.requests + b_first.requests);
  std::uint64_t sum = 0;
  for (const auto& r : iv) sum += r.requests;
  EXPECT_EQ(sum, requests);
}

TEST(results_file, refuses_bad_files_with_one_line_naming_them) {
  const auto good = temp_path("good.json");
  ASSERT_TRUE(save_results(sample_run(3, std::chrono::system_clock::now()), good));
  std::ifstream in(good);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto write = [&](const std::string& name, const std::string& content) {
    const auto p = temp_path(name);
    std::ofstream(p) << content;
    return p;
  };
  const auto replace = [&](std::string s, const std::string& from, const std::string& to) {
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  struct bad_case {
    std::string file, says;
  };
  const std::vector<bad_case> cases = {
      {temp_path("missing.json"), "cannot open"},
      {write("truncated.json", text.substr(0, text.size() / 2)), "truncated"},
      {write("empty.json", ""), "not a hit results file"},
      {write("foreign.json", R"({"requests": 5})"), "not a hit results file"},
      {write("newer.json", replace(text, R"("version":1)", R"("version":7)")), "newer hit"},
      {write("counts.json", replace(text, R"("errors":)", R"("errors":1)")), "add up"},
      {write("type.json", replace(text, R"("requests":)",
                                  R"("requests":"x",)"
                                  R"("y":)")),
       ".requests: expected a non-negative integer"},
      {write("kind.json", replace(text, R"("timeout":)", R"("gremlins":)")), "gremlins"},
      // Found by tests/fuzz/results_fuzz: valid JSON, a number no double holds.
      {write("huge.json", replace(text, R"("version":1)", R"("version":1e824)")),
       "not a hit results file"},
      {write("long.json",
             replace(text, R"("elapsed_ns":)", R"("elapsed_ns":9000000000000000000,"x":)")),
       "elapsed_ns: out of range"},
      // Consistent, but 3 years in intervals of 1 s: more rows than a report lays out.
      {write("rows.json",
             replace(text, R"("elapsed_ns":)", R"("elapsed_ns":100000000000000000,"x":)")),
       "more than 1000000 intervals"},
  };
  for (const auto& c : cases) {
    const auto r = load_results(c.file);
    ASSERT_FALSE(r) << c.file;
    EXPECT_NE(r.error().find(c.file), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(c.says), std::string::npos) << r.error();
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
    std::filesystem::remove(c.file);
  }
  std::filesystem::remove(good);
}

TEST(results_file, merge_refuses_timelines_that_do_not_align) {
  const auto t0 = std::chrono::system_clock::now();
  auto a = sample_run(1, t0);
  auto b = sample_run(2, t0);
  b.summary.timeline = {};
  b.summary.timeline.enable(1500ms);
  b.summary.timeline.finish();
  const auto m = merge_results({a, b});
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("do not align"), std::string::npos) << m.error();
}

// Shards whose start offsets round up: the merged timeline's last row ends where the moved
// intervals end, not at the run's span (a row cut short would divide its requests by a sliver).
TEST(results_file, merged_rows_end_where_the_moved_intervals_end) {
  const auto t0 = std::chrono::system_clock::time_point(1'795'000'000s);
  auto a = sample_run(1, t0);                // 10 s
  auto b = sample_run(2, t0 + 600ms, 2500);  // 5 s, moved by one interval (0.6 rounds to 1)
  b.summary.elapsed = 5s;
  const auto m = merge_results({a, b});
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->summary.elapsed, 10s);
  const auto rows = hit::cli::timeline_view(m->summary);
  ASSERT_EQ(rows.size(), 10u);
  for (const auto& r : rows) EXPECT_DOUBLE_EQ(r.width_s, 1.0) << "row at " << r.t_s;
}

// Statuses 1..99 are kept under their own code by the engine (a server may send "050"): the
// file keeps them and reads them back.
TEST(results_file, odd_status_codes_round_trip) {
  const auto path = temp_path("status50.json");
  auto r = sample_run(4, std::chrono::system_clock::now(), 50);
  r.summary.record_response(50, 10, 1ms, 1ms);
  r.summary.timeline = {};
  ASSERT_TRUE(save_results(r, path));
  const auto back = load_results(path);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->summary.status_counts[50], 1u);
  std::filesystem::remove(path);
}

TEST(results_file, a_directory_is_refused_naming_it) {
  const auto dir = temp_path("a_directory");
  std::filesystem::create_directories(dir);
  const auto r = load_results(dir);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("a_directory"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("not a file"), std::string::npos) << r.error();
  std::filesystem::remove(dir);
}

// --targets against a stock nginx whose locations answer differently (200, 404, a POST that
// must carry its body and a header from -H), over HTTP/1.1 and h2c: exact counts per target in
// round robin across loops, a repeatable random order, JSON lines from standard input, the
// breakdown's bound (1000 names, then "other"), and a bad file refused with its line.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_hit;
using hit::test::run_json;

namespace {

// {name: requests} and {name: status codes} of a report's breakdown.
std::map<std::string, std::uint64_t> counts(const nlohmann::json& j) {
  std::map<std::string, std::uint64_t> out;
  for (const auto& t : j["targets"]) out[t["name"]] = t["requests"];
  return out;
}

class targets_run : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    dir_ = std::make_unique<dir>();
    plain_ = hit::test::free_port();
    h2c_ = hit::test::free_port();
    const auto server = [](unsigned short p, const std::string& how) {
      return "  server { listen 127.0.0.1:" + std::to_string(p) + how +
             ";\n"
             "    location = /ok { return 200 \"ok\\n\"; }\n"
             "    location = /missing { return 404; }\n"
             // The POST must carry -H's header and its 5-byte body.
             "    location = /post { if ($http_x_run != \"t1\") { return 403; }\n"
             "      if ($http_content_length != \"5\") { return 411; } return 201; }\n"
             "    location / { return 200; } }\n";
    };
    nginx_ =
        std::make_unique<hit::test::nginx>(dir_->path, server(plain_, "") + server(h2c_, " http2"),
                                           std::vector<unsigned short>{plain_, h2c_});
    std::ofstream(dir_->path / "body.txt") << "hello";
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    dir_.reset();
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx did not start";
  }
  // A targets file for the server on `port`, in vegeta's format; body paths absolute.
  static std::string file(unsigned short port) {
    const auto at = "http://127.0.0.1:" + std::to_string(port);
    const auto path = dir_->path / ("targets-" + std::to_string(port) + ".txt");
    std::ofstream(path) << "# three targets\r\nGET " << at << "/ok\r\n\r\nGET " << at
                        << "/missing\r\nX-Other: 1\r\n\r\nPOST " << at << "/post\r\n@"
                        << (dir_->path / "body.txt").string() << "\r\n";
    return path.string();
  }
  static std::string at(unsigned short port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }

  // The suite's files (hit::test::temp_dir is per test).
  struct dir {
    std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("hit_targets_" + std::to_string(::getpid()));
    dir() { std::filesystem::create_directories(path); }
    ~dir() { std::filesystem::remove_all(path); }
  };
  static inline std::unique_ptr<dir> dir_;
  static inline unsigned short plain_ = 0, h2c_ = 0;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(targets_run, round_robin_is_exact_per_target_across_loops) {
  for (const auto& how : std::vector<std::vector<std::string>>{
           {"-c", "3", "--threads", "2"},
           {"-c", "4", "--threads", "2", "--rps", "3000"},
           {"-c", "2", "--threads", "2", "--h2", "--streams", "4"}}) {
    const bool h2 = std::find(how.begin(), how.end(), "--h2") != how.end();
    const auto port = h2 ? h2c_ : plain_;
    std::vector<std::string> args = {"-n", "300", "--targets", file(port), "-H", "X-Run: t1"};
    args.insert(args.end(), how.begin(), how.end());
    const auto j = run_json(args);
    ASSERT_EQ(j["targets"].size(), 3u) << j.dump();
    for (const auto& t : j["targets"]) EXPECT_EQ(t["requests"], 100) << t.dump();
    EXPECT_EQ(j["targets"][0]["name"], "GET " + at(port, "/ok"));
    EXPECT_EQ(j["targets"][0]["status_codes"]["200"], 100);
    EXPECT_EQ(j["targets"][1]["status_codes"]["404"], 100);
    // 201: the POST carried its body and -H's header.
    EXPECT_EQ(j["targets"][2]["status_codes"]["201"], 100) << j["targets"][2].dump();
    EXPECT_EQ(j["requests"], 300);
    EXPECT_EQ(j["targets_file"], file(port));
  }
}

TEST_F(targets_run, random_order_repeats_with_its_seed) {
  const auto run = [&](const std::string& seed) {
    return run_json({"-n", "600", "-c", "2", "--threads", "2", "--targets", file(plain_), "-H",
                     "X-Run: t1", "--order", "random", "--seed", seed});
  };
  const auto a = run("7"), b = run("7"), c = run("8");
  EXPECT_EQ(counts(a), counts(b));
  EXPECT_NE(counts(a), counts(c));  // (600 draws: the same split by chance is very unlikely)
  EXPECT_EQ(a["seed"], 7);
  std::uint64_t sum = 0;
  for (const auto& [name, n] : counts(a)) {
    EXPECT_GT(n, 120u) << name;  // each about 200
    sum += n;
  }
  EXPECT_EQ(sum, 600u);
}

TEST_F(targets_run, json_lines_from_standard_input) {
  const std::string lines =
      "{\"method\":\"GET\",\"url\":\"" + at(plain_, "/ok") + "\",\"name\":\"ok\"}\n" +
      "{\"method\":\"POST\",\"url\":\"" + at(plain_, "/post") +
      "\",\"headers\":{\"X-Run\":[\"t1\"]},\"body\":\"aGVsbG8=\",\"name\":\"post\"}\n";
  const auto r =
      hit::test::run_hit_in_shell("printf '%s' '" + lines + "' |", "",
                                  {"-n", "100", "-c", "2", "--targets", "-", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(counts(j), (std::map<std::string, std::uint64_t>{{"ok", 50}, {"post", 50}}));
  EXPECT_EQ(j["targets"][1]["status_codes"]["201"], 50) << j.dump();
  EXPECT_EQ(j["targets_file"], "stdin");
}

TEST_F(targets_run, the_breakdown_names_1000_targets_and_pools_the_rest) {
  const auto path = dir_->path / "many.txt";
  {
    std::ofstream f(path);
    for (int i = 0; i < 1200; ++i) f << "GET " << at(plain_, "/n" + std::to_string(i)) << "\n\n";
  }
  const auto j = run_json({"-n", "2400", "-c", "4", "--targets", path.string()});
  ASSERT_EQ(j["targets"].size(), 1001u);
  EXPECT_EQ(j["targets"][999]["name"], "GET " + at(plain_, "/n999"));
  EXPECT_EQ(j["targets"][999]["requests"], 2);
  EXPECT_EQ(j["targets"][1000]["name"], "other");
  EXPECT_EQ(j["targets"][1000]["requests"], 400);  // 200 targets x 2
  // Text: a table row per name.
  const auto text = run_hit({"-n", "2400", "-c", "4", "--targets", path.string()});
  EXPECT_NE(text.out.find("Targets:       1200 from " + path.string() + " (round-robin)"),
            std::string::npos)
      << text.out.substr(0, 400);
  EXPECT_NE(text.out.find("\n  other "), std::string::npos);
}

TEST_F(targets_run, results_files_keep_the_breakdown_and_shards_merge_it_exactly) {
  const auto saved = dir_->path / "run.json";
  ASSERT_EQ(run_hit({"-n", "30", "-c", "1", "--targets", file(plain_), "-H", "X-Run: t1", "--order",
                     "random", "--seed", "3", "--save", saved.string()})
                .exit_code,
            0);
  const auto back = run_hit({"report", saved.string()});
  EXPECT_EQ(back.exit_code, 0) << back.err;
  EXPECT_NE(back.out.find("Targets:       3 from " + file(plain_) + " (random, --seed 3)"),
            std::string::npos)
      << back.out;
  EXPECT_NE(back.out.find("By target:"), std::string::npos) << back.out;
  const auto j = nlohmann::json::parse(run_hit({"report", "-o", "json", saved.string()}).out);
  EXPECT_EQ(j["target_count"], 3);
  EXPECT_FALSE(j.contains("method"));
  std::uint64_t sum = 0;
  for (const auto& t : j["targets"]) sum += t["requests"].get<std::uint64_t>();
  EXPECT_EQ(sum, 30u);
  // Two shards of one run: merged, round robin is exact per target again.
  std::vector<std::string> parts;
  for (const std::string shard : {"0/2", "1/2"}) {
    parts.push_back((dir_->path / ("shard" + shard.substr(0, 1) + ".json")).string());
    // (-c 3: shares of 200 and 100 requests, the second starting at the run's request 200.)
    const auto r = run_hit({"-n", "300", "-c", "3", "--threads", "2", "--targets", file(plain_),
                            "-H", "X-Run: t1", "--shard", shard, "--save",
                            (dir_->path / "shard{shard}.json").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const auto merged =
      nlohmann::json::parse(run_hit({"report", "-o", "json", parts[0], parts[1]}).out);
  ASSERT_EQ(merged["targets"].size(), 3u) << merged.dump();
  for (const auto& t : merged["targets"]) EXPECT_EQ(t["requests"], 100) << t.dump();
  EXPECT_EQ(merged["targets"][1]["status_codes"]["404"], 100);
}

TEST_F(targets_run, a_bad_file_is_refused_with_its_line) {
  const auto path = dir_->path / "bad.txt";
  std::ofstream(path) << "GET " << at(plain_, "/ok") << "\n\nGET http://elsewhere.test/\n";
  hit::test::expect_usage_error({"--targets", path.string()},
                                path.string() + ":3: http://elsewhere.test:80 is not the origin");
  hit::test::expect_usage_error({"--targets", (dir_->path / "none.txt").string()},
                                "cannot read targets file");
  hit::test::expect_usage_error({"--targets", path.string(), at(plain_, "/")},
                                "--targets gives the URLs");
}

}  // namespace

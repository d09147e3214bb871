// --template against a stock nginx that logs what it received: every request number once
// ({{seq}} in the path, unique across loops), a UUID per request in a header, a body whose
// Content-Length changes with it (a wrong length would break the kept-alive connection's next
// request), lines of a file in turn, and a template that does not parse refused with its offset.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "../unit/http/uuid_check.hpp"
#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_json;

namespace {

class template_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    dir_ = std::filesystem::temp_directory_path() / ("hit_template_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    port_ = hit::test::free_port();
    nginx_ = std::make_unique<hit::test::nginx>(
        dir_,
        "  log_format seen '$request_uri $http_x_id $content_length';\n"
        "  server { listen 127.0.0.1:" +
            std::to_string(port_) + ";\n    access_log " + (dir_ / "seen.log").string() +
            " seen;\n    location / { return 200; } }\n",
        std::vector<unsigned short>{port_});
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx did not start";
    std::ofstream(dir_ / "seen.log", std::ios::trunc).flush();  // (nginx appends)
  }
  // The log's lines: "URI X-ID CONTENT-LENGTH".
  static std::vector<std::vector<std::string>> seen() {
    std::vector<std::vector<std::string>> out;
    std::ifstream in(dir_ / "seen.log");
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      auto& row = out.emplace_back();
      for (std::string w; words >> w;) row.push_back(w);
    }
    return out;
  }
  static std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  static inline std::filesystem::path dir_;
  static inline unsigned short port_ = 0;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(template_test, every_request_is_rendered_once_with_its_own_number_and_body) {
  const auto j =
      run_json({"--template", "-n", "900", "-c", "3", "--threads", "2", "-m", "POST", "-H",
                "X-Id: {{uuid}}", "-d", R"({"n":{{seq}}})", url("/x/{{seq}}?r={{rand 10 99}}")});
  EXPECT_EQ(j["status_codes"]["200"], 900) << j.dump();
  const auto rows = seen();
  ASSERT_EQ(rows.size(), 900u);
  std::set<std::uint64_t> numbers;
  std::set<std::string> ids;
  for (const auto& row : rows) {
    ASSERT_EQ(row.size(), 3u);
    // /x/N?r=R
    const auto q = row[0].find("?r=");
    ASSERT_TRUE(row[0].rfind("/x/", 0) == 0 && q != std::string::npos) << row[0];
    const auto n = std::stoull(row[0].substr(3, q - 3));
    EXPECT_EQ(std::to_string(n), row[0].substr(3, q - 3));
    numbers.insert(n);
    const auto r = std::stoi(row[0].substr(q + 3));
    EXPECT_EQ(std::to_string(r), row[0].substr(q + 3));
    EXPECT_TRUE(r >= 10 && r <= 99) << row[0];
    EXPECT_TRUE(hit::test::is_uuid_v4(row[1])) << row[1];
    ids.insert(row[1]);
    // {"n":N}: 6 bytes and N's digits.
    EXPECT_EQ(std::stoul(row[2]), 6 + std::to_string(n).size()) << row[0];
  }
  EXPECT_EQ(numbers.size(), 900u);  // each number once: 0 to 899
  EXPECT_EQ(*numbers.rbegin(), 899u);
  EXPECT_EQ(ids.size(), 900u);
  EXPECT_EQ(j["connections_opened"], 3);  // kept alive: every length was right
}

TEST_F(template_test, lines_of_a_file_in_turn) {
  std::ofstream(dir_ / "users.txt") << "ann\nbob\r\ncy\n";
  const auto j = run_json({"--template", "-n", "30", "-c", "1",
                           url("/u/{{line " + (dir_ / "users.txt").string() + "}}")});
  EXPECT_EQ(j["status_codes"]["200"], 30);
  std::map<std::string, int> count;
  for (const auto& row : seen()) ++count[row[0]];
  EXPECT_EQ(count, (std::map<std::string, int>{{"/u/ann", 10}, {"/u/bob", 10}, {"/u/cy", 10}}));
}

TEST_F(template_test, a_targets_files_urls_headers_and_bodies) {
  std::ofstream(dir_ / "t.txt") << "GET " << url("/a/{{seq}}") << "\nX-Id: {{uuid}}\n\nPOST "
                                << url("/b/{{seq}}") << "\n";
  const auto j =
      run_json({"--template", "-n", "40", "-c", "2", "--targets", (dir_ / "t.txt").string()});
  EXPECT_EQ(j["status_codes"]["200"], 40) << j.dump();
  std::set<std::string> paths;
  for (const auto& row : seen()) paths.insert(row[0]);
  // Round robin: the even numbers went to /a, the odd ones to /b.
  EXPECT_EQ(paths.size(), 40u);
  EXPECT_TRUE(paths.count("/a/0") && paths.count("/b/1") && paths.count("/a/38") &&
              paths.count("/b/39"));
}

TEST_F(template_test, a_template_that_does_not_parse_is_refused_with_its_offset) {
  hit::test::expect_usage_error({"--template", "-H", "X: a{{rand 9 1}}", url("/")},
                                "template: header X at byte 1: '{{rand 9 1}}' wants");
  hit::test::expect_usage_error({"--template", url("/{{nope}}")},
                                "the request target at byte 1: unknown placeholder '{{nope}}'");
  hit::test::expect_usage_error({"--template", "--h2", url("/{{seq}}")}, "HTTP/1.1's");
  // Without --template, braces are not placeholders: the URL is refused as it is.
  hit::test::expect_usage_error({url("/{{seq}}")}, "");
}

}  // namespace

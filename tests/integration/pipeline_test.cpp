// --pipeline against a stock nginx that logs what it received and whether it came pipelined
// ($pipe), and against `hit serve`: every request answered once, in order on its connection,
// each response counted as its own request's (a HEAD's without a body between two with one),
// requests left unanswered when the server closes after keepalive_requests resent (never lost,
// never processed twice), over TLS too, and a timeout failing every request sent that long ago.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_json;

namespace {

class pipeline_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    dir_ = std::filesystem::temp_directory_path() / ("hit_pipeline_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    open_ = hit::test::free_port();
    closing_ = hit::test::free_port();
    const auto server = [](unsigned short port, const std::string& log, int keepalive_requests) {
      return "  server { listen 127.0.0.1:" + std::to_string(port) + ";\n" +
             "    keepalive_requests " + std::to_string(keepalive_requests) + ";\n" +
             "    access_log " + (dir_ / log).string() + " seen;\n" +
             "    location = /a { return 201 \"aaaa\"; }\n"
             "    location = /b { return 404; }\n"
             "    location / { return 200 \"ok\"; } }\n";
    };
    nginx_ = std::make_unique<hit::test::nginx>(
        dir_,
        "  log_format seen '$connection $connection_requests $pipe $request_method "
        "$request_uri';\n" +
            server(open_, "open.log", 1000000) + server(closing_, "closing.log", 50),
        std::vector<unsigned short>{open_, closing_});
    const auto at = "http://127.0.0.1:" + std::to_string(open_);
    std::ofstream(dir_ / "targets.txt")
        << "GET " << at << "/a\n\nHEAD " << at << "/a\n\nGET " << at << "/b\n";
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    std::filesystem::remove_all(dir_);
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx did not start";
    for (const auto* log : {"open.log", "closing.log"})
      std::ofstream(dir_ / log, std::ios::trunc).flush();  // (nginx appends)
  }
  struct row {
    std::uint64_t connection = 0, number = 0;  // nginx's connection and its request count
    bool pipelined = false;
    std::string method, uri;
  };
  static std::vector<row> seen(const char* log) {
    std::vector<row> out;
    std::ifstream in(dir_ / log);
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      row r;
      std::string pipe;
      words >> r.connection >> r.number >> pipe >> r.method >> r.uri;
      r.pipelined = pipe == "p";
      out.push_back(r);
    }
    return out;
  }
  static std::string url(unsigned short port, const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
  // The request number {{seq}} put in a path "/p/N".
  static std::uint64_t number_in(const std::string& uri) { return std::stoull(uri.substr(3)); }

  static inline std::filesystem::path dir_;
  static inline unsigned short open_ = 0, closing_ = 0;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(pipeline_test, every_request_is_answered_once_in_its_connections_order) {
  const auto j = run_json({"--pipeline", "16", "-n", "3000", "-c", "4", "--threads", "2",
                           "--template", url(open_, "/p/{{seq}}")});
  EXPECT_EQ(j["requests"], 3000);
  EXPECT_EQ(j["status_codes"]["200"], 3000) << j.dump();
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["retries"], 0);
  EXPECT_EQ(j["pipeline"], 16);
  EXPECT_EQ(j["connections_opened"], 4);
  const auto rows = seen("open.log");
  ASSERT_EQ(rows.size(), 3000u);
  std::set<std::uint64_t> numbers;
  std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> last;  // connection: n, seq
  std::size_t pipelined = 0;
  for (const auto& r : rows) {
    const auto n = number_in(r.uri);
    EXPECT_TRUE(numbers.insert(n).second) << "request " << n << " reached nginx twice";
    // A connection's requests arrive in the order it took them: their numbers increase.
    auto [it, first] = last.try_emplace(r.connection, r.number, n);
    if (!first) {
      EXPECT_EQ(r.number, it->second.first + 1);
      EXPECT_GT(n, it->second.second) << "on connection " << r.connection;
      it->second = {r.number, n};
    }
    pipelined += r.pipelined;
  }
  EXPECT_EQ(numbers.size(), 3000u);
  EXPECT_EQ(*numbers.rbegin(), 2999u);
  EXPECT_EQ(last.size(), 4u);
  // nginx marks a request that arrived behind another one still unanswered: most of them.
  EXPECT_GT(pipelined, 1500u) << "the requests were not pipelined";
}

TEST_F(pipeline_test, each_response_is_counted_for_its_own_request) {
  // A HEAD's response announces a body it does not carry: read as a GET's, it would swallow the
  // next response's bytes. Each target answers with its own status.
  const auto j = run_json(
      {"--pipeline", "16", "-n", "3000", "-c", "2", "--targets", (dir_ / "targets.txt").string()});
  EXPECT_EQ(j["errors"], 0) << j.dump();
  ASSERT_EQ(j["targets"].size(), 3u);
  std::map<std::string, nlohmann::json> by;
  for (const auto& t : j["targets"]) by[t["name"]] = t["status_codes"];
  ASSERT_EQ(by.size(), 3u) << j["targets"].dump();
  for (const auto& [name, codes] : by) {
    const bool b = name.find("/b") != std::string::npos;
    EXPECT_EQ(codes.size(), 1u) << name << ": " << codes.dump();
    EXPECT_EQ(codes[b ? "404" : "201"], 1000) << name << ": " << codes.dump();
  }
  const auto rows = seen("open.log");
  ASSERT_EQ(rows.size(), 3000u);
  std::map<std::string, int> methods;
  for (const auto& r : rows) ++methods[r.method + " " + r.uri];
  EXPECT_EQ(methods["GET /a"], 1000);
  EXPECT_EQ(methods["HEAD /a"], 1000);
  EXPECT_EQ(methods["GET /b"], 1000);
}

TEST_F(pipeline_test, requests_the_server_closed_on_are_resent_never_lost_or_doubled) {
  // keepalive_requests 50: nginx answers the 50th request of a connection with Connection:
  // close and ignores the pipelined requests behind it.
  const auto j = run_json(
      {"--pipeline", "16", "-n", "2000", "-c", "2", "--template", url(closing_, "/p/{{seq}}")});
  EXPECT_EQ(j["status_codes"]["200"], 2000) << j.dump();
  EXPECT_EQ(j["errors"], 0);
  EXPECT_GT(j["retries"], 0);
  EXPECT_GE(j["connections_opened"], 40);
  const auto rows = seen("closing.log");
  ASSERT_EQ(rows.size(), 2000u) << "every request reached nginx exactly once";
  std::set<std::uint64_t> numbers;
  for (const auto& r : rows) {
    EXPECT_LE(r.number, 50u);
    numbers.insert(number_in(r.uri));
  }
  EXPECT_EQ(numbers.size(), 2000u);
}

TEST(pipeline_serve, hit_serve_answers_every_pipelined_request) {
  hit::test::server s;
  const auto j = run_json({"--pipeline", "8", "-n", "5000", "-c", "3", "--threads", "2", "-m",
                           "POST", "-d", "some body", s.url()});
  EXPECT_EQ(j["requests"], 5000);
  EXPECT_EQ(j["status_codes"]["200"], 5000) << j.dump();
  EXPECT_EQ(j["connections_opened"], 3);
  EXPECT_EQ(j["retries"], 0);
}

TEST(pipeline_serve, over_tls_every_request_is_answered) {
  hit::test::server s({"--tls"});
  const auto j = run_json({"--pipeline", "16", "-n", "3000", "-c", "2", "-k", s.url()});
  EXPECT_EQ(j["status_codes"]["200"], 3000) << j.dump();
  EXPECT_EQ(j["errors"], 0);
  EXPECT_EQ(j["connections_opened"], 2);
}

TEST(pipeline_serve, a_timeout_fails_every_request_sent_that_long_ago) {
  // Four requests go out in one write; the server holds the first for 2 s. After 300 ms all four
  // have waited the timeout: each is a timeout, none is resent.
  hit::test::server s;
  const auto j =
      run_json({"--pipeline", "4", "-n", "8", "-c", "1", "-t", "300ms", s.url("?delay=2s")});
  EXPECT_EQ(j["requests"], 8);
  EXPECT_EQ(j["errors_by_kind"]["timeout"], 8) << j.dump();
  EXPECT_EQ(j["retries"], 0);
  EXPECT_EQ(j["connections_opened"], 2);
}

}  // namespace

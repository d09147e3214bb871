// Every bad input: exit code 2 and one clear line on stderr, nothing on stdout, no hang.

#include <gtest/gtest.h>

#include <algorithm>

#include "harness.hpp"

using hit::test::run_hit;

namespace {

void expect_usage_error(const std::vector<std::string>& args, const std::string& says) {
  const auto r = run_hit(args, std::chrono::seconds(10));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(says), std::string::npos) << "stderr: " << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

const std::string url = "http://127.0.0.1:9/";

}  // namespace

TEST(bad_input, no_url) {
  expect_usage_error({}, "missing URL");
}
TEST(bad_input, malformed_url) {
  expect_usage_error({"http//oops"}, "malformed URL");
}
TEST(bad_input, unsupported_scheme) {
  expect_usage_error({"ftp://x/"}, "unsupported scheme");
}
TEST(bad_input, https_not_yet) {
  expect_usage_error({"https://x/"}, "not supported yet");
}
TEST(bad_input, zero_requests) {
  expect_usage_error({"-n", "0", url}, "-n/--requests");
}
TEST(bad_input, negative_concurrency) {
  expect_usage_error({"--concurrency=-3", url}, "--concurrency");
}
TEST(bad_input, zero_concurrency) {
  expect_usage_error({"-c", "0", url}, "-c/--concurrency");
}
TEST(bad_input, negative_rps) {
  expect_usage_error({"--rps=-5", url}, "--rps");
}
TEST(bad_input, bad_duration) {
  expect_usage_error({"-z", "soon", url}, "duration");
}
TEST(bad_input, bad_timeout) {
  expect_usage_error({"-t", "10parsecs", url}, "timeout");
}
TEST(bad_input, header_without_colon) {
  expect_usage_error({"-H", "NoColon", url}, "header");
}
TEST(bad_input, unreadable_body_file) {
  expect_usage_error({"-D", "/nonexistent/body.json", url}, "body file");
}
TEST(bad_input, unknown_option) {
  expect_usage_error({"--frobnicate", url}, "frobnicate");
}
TEST(bad_input, non_numeric_count) {
  expect_usage_error({"-n", "lots", url}, "lots");
}
TEST(bad_input, unknown_output) {
  expect_usage_error({"-o", "xml", url}, "output format");
}

TEST(bad_input, help_and_version_exit_0) {
  auto r = run_hit({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
  EXPECT_NE(r.out.find("Examples"), std::string::npos);
  r = run_hit({"--version"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("hit ", 0), 0u);
}
TEST(bad_input, rate_with_rps) {
  expect_usage_error({"--rate", "5", "--rps", "5", url}, "--rps");
}
TEST(bad_input, ramp_without_duration) {
  expect_usage_error({"--rate", "1:5", url}, "-z");
}
TEST(bad_input, bad_stage) {
  expect_usage_error({"--stages", "10s", url}, "stage");
}
TEST(bad_input, body_file_is_a_directory) {
  expect_usage_error({"-D", "/tmp", url}, "body file");
}
TEST(bad_input, huge_concurrency) {
  expect_usage_error({"-c", "4294967296", url}, "too large");
}
TEST(bad_input, huge_duration) {
  expect_usage_error({"-z", "1" + std::string(400, '0') + "s", url}, "duration");
}
TEST(bad_input, rate_without_an_end) {
  expect_usage_error({"--rate", "100", url}, "-n or -z");
}
TEST(bad_input, serve_bad_listen) {
  expect_usage_error({"serve", "--listen", "127.0.0.1:99999"}, "--listen");
  expect_usage_error({"serve", "--listen", "localhost:80"}, "--listen");
}

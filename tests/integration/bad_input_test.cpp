// Every bad input: exit code 2 and one clear line on stderr, nothing on stdout, no hang.

#include <gtest/gtest.h>

#include <algorithm>

#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_hit;

namespace {

using hit::test::expect_usage_error;

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
TEST(bad_input, tls_options_need_an_https_url) {
  expect_usage_error({"--cacert", "/etc/hostname", url}, "--cacert is a TLS option");
  expect_usage_error({"--no-tls-resume", url}, "needs an https:// URL");
}
TEST(bad_input, tls_cert_and_key_go_together) {
  expect_usage_error({"--cert", "/etc/hostname", "https://127.0.0.1:1/"}, "--cert and --key");
}
TEST(bad_input, tls_min_is_1_2_or_1_3) {
  expect_usage_error({"--tls-min", "1.1", "https://127.0.0.1:1/"}, "--tls-min wants 1.2 or 1.3");
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

// ---- The hardening pass: wrong targets, smuggled headers, numbers, rates, messages --------

TEST(bad_input, ports_outside_1_to_65535_or_with_junk_never_run) {
  for (const char* u : {"http://127.0.0.1:99999/x", "http://127.0.0.1:65536/",
                        "http://127.0.0.1:100000/", "http://127.0.0.1:18100x/"})
    expect_usage_error({"-n", "1", u}, "port");
  expect_usage_error({"-n", "1", "http://127.0.0.1:18100:5/"}, "more than one ':'");
  expect_usage_error({"http://::1:8080/"}, "http://[::1]:8080/");
}
TEST(bad_input, crlf_in_a_header_value_cannot_smuggle_a_request) {
  expect_usage_error({"-H", "X: a\r\n\r\nGET /?status=500 HTTP/1.1\r\nHost: x", url},
                     "control character");
  expect_usage_error({"-H", "X: a\x7f", url}, "control character");  // (argv holds no NUL)
}
TEST(bad_input, header_names_are_tokens) {
  expect_usage_error({"-H", "X\x01Y: 1", url}, "bad name");
  expect_usage_error({"-H", "X Y: 1", url}, "bad name");
  expect_usage_error({"-H", "X : 1", url}, "bad name");
  expect_usage_error({"-H", "Transfer-Encoding: chunked", url}, "frames the body");
}
TEST(bad_input, methods_are_tokens) {
  expect_usage_error({"-m", "\xff", "-o", "json", url}, "bad method");
  expect_usage_error({"-m", "GET /x HTTP/1.1\r\n", url}, "bad method");
}
TEST(bad_input, numbers_are_decimal_and_too_large_ones_are_echoed) {
  expect_usage_error({"-n", "99999999999999999999", url}, "'99999999999999999999' is too large");
  expect_usage_error({"-n", "0x10", url}, "whole number");
  expect_usage_error({"-n", "-5", url}, "whole number");
  expect_usage_error({"-c", "4294967295", url}, "too large");
  expect_usage_error({"--threads", "5000", url}, "too large");
}
TEST(bad_input, rates_no_machine_can_schedule_are_refused) {
  expect_usage_error({"--stages", "1s:1e308", url}, "more than hit can schedule");
  expect_usage_error({"--rate", "1e10", "-z", "1s", url}, "more than hit can schedule");
  expect_usage_error({"--rps", "1e12", "-n", "5", url}, "more than hit can schedule");
  expect_usage_error({"--rate", "0x10", "-n", "5", url}, "bad rate");
  expect_usage_error({"--rate", "inf", "-n", "5", url}, "bad rate");
}
TEST(bad_input, a_timeout_below_what_is_enforced_is_refused) {
  expect_usage_error({"-t", "500us", url}, "1ms");
}
TEST(bad_input, input_with_newlines_is_echoed_on_one_line) {
  expect_usage_error({"-z", "1\n0s", url}, "'1\\n0s'");
  expect_usage_error({"-H", "Bad\nName: 1", url}, "'Bad\\nName: 1'");
  expect_usage_error({"--frob\nnicate", url}, "frob\\nnicate");
}
TEST(bad_input, an_empty_body_file_name_is_refused) {
  expect_usage_error({"-D", "", url}, "file name");
}
TEST(bad_input, serve_takes_only_its_own_options) {
  expect_usage_error({"-n", "5", url, "serve"}, "'serve' takes only its own options");
  expect_usage_error({"serve", "--body-size", "99999999999999"}, "--body-size");
}
TEST(bad_input, serve_help_lists_every_knob) {
  const auto r = run_hit({"serve", "--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* knob :
       {"delay=", "status=", "size=", "chunked=", "close=", "reset=", "drop=", "halfclose=",
        "garbage=", "hangup=", "early=", "extra=", "upgrade=", "refuse="})
    EXPECT_NE(r.out.find(knob), std::string::npos) << knob;
}
TEST(bad_input, a_malformed_threshold_is_refused_before_any_traffic) {
  // The URL's port has no server: had the run started, it would exit 1 (every connect refused).
  expect_usage_error({"--threshold", "p99<250", url}, "threshold 'p99<250': p99 is a latency");
  expect_usage_error({"--threshold", "p99<250", url}, "needs a unit");
  expect_usage_error({"--threshold", "errors<1%", "--threshold", "latency<1s", url},
                     "unknown metric 'latency'");
  expect_usage_error({"--threshold", "success>=0.99", url}, "give a percentage");
  expect_usage_error({"--threshold", "", url}, "empty");
  expect_usage_error({"--abort-on-threshold", url}, "needs at least one --threshold");
}

TEST(bad_input, pipeline_depth_out_of_range) {
  expect_usage_error({"--pipeline", "0", url}, "--pipeline");
  expect_usage_error({"--pipeline", "1025", url}, "--pipeline");
}
TEST(bad_input, pipeline_is_http1_and_unpaced) {
  expect_usage_error({"--pipeline", "4", "--h2", url}, "--pipeline is HTTP/1.1's");
  expect_usage_error({"--pipeline", "4", "--no-keepalive", url}, "--no-keepalive");
  expect_usage_error({"--pipeline", "4", "--rps", "100", url}, "--rps does not go with");
  expect_usage_error({"--pipeline", "4", "--rate", "100", "-z", "1s", url},
                     "--rate does not go with");
}

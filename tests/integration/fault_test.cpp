// Misbehaving servers, hostile limits and signals, end to end: every request is accounted for
// once, under the right kind, and the report is never lost. The real binary against
// `hit serve` and its fault knobs, or a socket the test holds itself, all on 127.0.0.1.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "harness.hpp"
#include "run_json.hpp"

using hit::test::run_hit;
using hit::test::run_hit_in_shell;
using hit::test::run_json;
using hit::test::server;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

}  // namespace

TEST(faults, bytes_that_are_not_http_count_as_malformed) {
  server s;
  const auto j = run_json({"-n", "40", "-c", "2", s.url("?garbage=1")});
  EXPECT_EQ(j["requests"], 40);
  EXPECT_EQ(j["errors_by_kind"]["malformed"], 40) << j.dump();
}

TEST(faults, a_close_without_a_response_counts_as_closed) {
  server s;
  const auto j = run_json({"-n", "40", "-c", "2", s.url("?hangup=1")});
  EXPECT_EQ(j["requests"], 40);
  EXPECT_EQ(j["errors_by_kind"]["closed"], 40) << j.dump();
  EXPECT_EQ(j["retries"], 0) << "a fresh connection is never stale";
}

TEST(faults, a_connect_that_is_never_answered_counts_as_connect_timeout) {
  // A listener whose accept queue is full drops new SYNs: connect() waits, unanswered.
  const int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(l, 0), 0);
  socklen_t len = sizeof a;
  getsockname(l, reinterpret_cast<sockaddr*>(&a), &len);
  std::vector<int> fillers;
  for (int i = 0; i < 4; ++i) {
    const int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a);
    fillers.push_back(c);
  }
  std::this_thread::sleep_for(200ms);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/";
  const auto r = run_hit({"-n", "3", "-c", "1", "-t", "300ms", "-o", "json", url});
  for (int c : fillers) close(c);
  close(l);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  EXPECT_EQ(j["requests"], 3);
  EXPECT_EQ(j["errors_by_kind"]["connect_timeout"], 3) << j.dump();
}

TEST(faults, an_early_final_response_to_a_large_upload_is_the_result) {
  // The server answers 413 without reading the 32 MB body, then holds the socket open, unread,
  // for longer than -t. The upload can never finish: only a client that reads while it writes
  // sees the 413 (one that reads after writing counts a timeout).
  const hit::test::temp_file body("early_body.bin", 32, 'x');
  const std::string& path = body.path();
  server s;
  const auto r = run_hit({"-n", "4", "-c", "2", "-t", "3s", "-m", "PUT", "-D", path, "-o", "json",
                          s.url("?early=1&hold=10s")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json::parse(r.out);
  EXPECT_EQ(j["requests"], 4);
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["413"], 4) << j.dump();
  EXPECT_LT(r.seconds, 2.5) << "answered at once, not at the 3 s timeout";
  // And when the server drains and closes instead (a reset may race the answer), still 413.
  j = run_json({"-n", "4", "-c", "2", "-t", "5s", "-m", "PUT", "-D", path, s.url("?early=1")});
  EXPECT_EQ(j["status_codes"]["413"], 4) << j.dump();
}

TEST(faults, a_stale_connection_is_retried_for_a_large_upload_too) {
  // The server half-closes each kept-alive connection after its response without saying so,
  // and reads on: a request too large for one write meets the FIN while its write still runs.
  const hit::test::temp_file body("stale_body.bin", 16, 'z');
  const std::string& path = body.path();
  server s;
  const auto j =
      run_json({"-n", "12", "-c", "1", "-m", "POST", "-D", path, s.url("?halfclose=1")}, 0, 60s);
  EXPECT_EQ(j["requests"], 12);
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["200"], 12);
  EXPECT_EQ(j["retries"], 11) << "every request after the first meets a stale connection";
}

TEST(faults, an_unsolicited_response_is_never_paired_with_a_later_request) {
  server s;
  // Each response comes with a second one nobody asked for: the connection ends after it.
  const auto j = run_json({"-n", "50", "-c", "1", s.url("?extra=1&status=201")});
  EXPECT_EQ(j["requests"], 50);
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["201"], 50) << "the extra 200s were not taken as responses";
  EXPECT_FALSE(j["status_codes"].contains("200")) << j.dump();
  EXPECT_EQ(j["unsolicited"], 50);
  EXPECT_EQ(j["connections_opened"], 50);
}

TEST(faults, a_connection_switched_away_from_http_is_not_reused) {
  server s;
  const auto j = run_json({"-n", "10", "-c", "1", s.url("?upgrade=1")});
  EXPECT_EQ(j["requests"], 10);
  EXPECT_EQ(j["errors"], 0) << j.dump();
  EXPECT_EQ(j["status_codes"]["101"], 10);
  EXPECT_EQ(j["connections_opened"], 10);
}

TEST(faults, in_the_open_model_z_ends_the_run_and_unsent_requests_are_counted) {
  server s;
  // 200 requests are due in 1 s; two connections each hold a request for 400 ms (-t) and
  // take the next. At 1 s sending stops: the requests still waiting are not sent, and those in
  // flight get at most -t.
  const auto r = run_hit({"--rate", "200", "-z", "1s", "-t", "400ms", "--workers", "1",
                          "--max-workers", "2", "-o", "json", s.url("?delay=10s")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = json::parse(r.out);
  const auto sent = j["requests"].get<int>();
  const auto not_sent = j["not_sent"].get<int>();
  EXPECT_EQ(j["errors_by_kind"]["timeout"], sent);
  EXPECT_LE(sent, 10);
  EXPECT_EQ(sent + not_sent, 200) << j.dump();
  EXPECT_LT(r.seconds, 4.0) << "the server's 10 s delay is not waited for";
}

TEST(faults, leading_zeros_are_decimal) {
  server s;
  const auto j = run_json({"-n", "010", "-c", "02", s.url()});
  EXPECT_EQ(j["requests"], 10);
  EXPECT_EQ(j["connections_opened"], 2);
}

TEST(faults, the_highest_rate_still_stops_promptly_on_sigterm) {
  server s;
  const auto r = hit::test::run_hit_and_signal(
      {"--rate", "1e7", "-z", "60s", "-t", "2s", "--max-workers", "50", "-o", "json", s.url()},
      SIGTERM, 1000ms);
  EXPECT_EQ(r.exit_code, 130) << r.err;
  EXPECT_LT(r.seconds, 10.0);
  const auto j = json::parse(r.out);
  EXPECT_TRUE(j["interrupted"].get<bool>());
  EXPECT_GT(j["not_sent"].get<std::uint64_t>(), 1000u);
}

TEST(faults, two_signals_in_quick_succession_are_one_interrupt) {
  // What `timeout -s INT` does: the child first, then its process group.
  server s;
  for (int round = 0; round < 3; ++round) {
    const auto r =
        hit::test::run_hit_and_signal({"-z", "30s", "-c", "2", s.url()}, SIGINT, 500ms, 2);
    EXPECT_EQ(r.exit_code, 130) << r.err;
    EXPECT_NE(r.out.find("Summary (interrupted"), std::string::npos) << r.err;
  }
}

TEST(faults, a_report_that_cannot_be_written_is_exit_1_not_0) {
  server s;
  auto r = run_hit_in_shell("", "> /dev/full", {"-n", "5", "-c", "1", s.url()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("cannot write the report"), std::string::npos) << r.err;
  // A closed stdout is seen before the run, not after it.
  r = run_hit_in_shell("", ">&-", {"-z", "20s", "-c", "1", s.url()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_EQ(lines(r.err), 1) << r.err;
  EXPECT_NE(r.err.find("standard output is closed"), std::string::npos) << r.err;
  EXPECT_LT(r.seconds, 10.0);
}

TEST(faults, a_descriptor_limit_names_the_option_given_and_counts_descriptors_in_use) {
  server s;
  // The open model: the message is about --max-workers, which the user gave, not -c.
  auto r = run_hit_in_shell("ulimit -n 64;", "",
                            {"--rate", "10", "-n", "2", "--max-workers", "500", s.url()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--max-workers 500"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("-c "), std::string::npos) << r.err;
  // 150 inherited descriptors under a limit of 256 leave too few for 120 connections.
  std::string open_many;
  for (int fd = 10; fd < 160; ++fd) open_many += "exec " + std::to_string(fd) + "</dev/null;";
  r = run_hit_in_shell("ulimit -n 256;" + open_many, "", {"-n", "200", "-c", "120", s.url()});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.err.find("-c 120"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("in use"), std::string::npos) << r.err;
  // A floor the user gave is not lowered to fit the limit: it is refused, by its name.
  r = run_hit_in_shell("ulimit -n 64;", "",
                       {"--rate", "10", "-n", "2", "--workers", "200", s.url()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--workers 200"), std::string::npos) << r.err;
  // --max-workers alone lowers the default --workers to fit under it.
  const auto j = run_json({"--rate", "50", "-n", "5", "--max-workers", "3", s.url()});
  EXPECT_EQ(j["requests"], 5);
  EXPECT_EQ(j["workers"], 3);
}

TEST(faults, a_large_body_file_is_held_once) {  // 128 MiB
  constexpr int mib = 128;
  const hit::test::temp_file body("big_body.bin", mib, 'y');
  const std::string& path = body.path();
  server s;
  const auto r =
      run_hit({"-n", "2", "-c", "1", "-m", "POST", "-D", path, "-o", "json", s.url()}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["status_codes"]["200"], 2);
  // Once is 128 MiB plus the program (and, under ASan, its shadow and quarantine); two copies
  // (a copy per step) are 256 MiB and more.
  EXPECT_LT(r.max_rss_kib, (mib * 3 / 2 + 24) * 1024) << "peak RSS in KiB";
}

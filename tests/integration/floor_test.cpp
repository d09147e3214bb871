// bench/floor, the client that measures the least CPU a request can cost (docs/performance.md),
// against a stock nginx that logs every request: the count it reports is what nginx served (over
// epoll, io_uring, TLS, HTTP/2), and a server whose responses change length or status is refused
// rather than miscounted. A floor that counted wrong would make every "fraction of the floor"
// wrong.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../unit/http/test_pki.hpp"
#include "harness.hpp"

namespace {

class floor_test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!hit::test::nginx::installed()) return;
    pki_ = std::make_unique<hit::test::test_pki>();
    dir_ = pki_->path("");
    plain_ = hit::test::free_port();
    tls_ = hit::test::free_port();
    h2c_ = hit::test::free_port();
    h2_ = hit::test::free_port();
    const std::string d = dir_.string() + "/";
    const auto locations =
        // The same length every time; then a body that grows from "1" to "10" on a connection.
        "    location = /fixed { return 200 \"0123456789abcdef\"; }\n"
        "    location = /varying { return 200 \"$connection_requests\"; } }\n";
    const auto server = [&](unsigned short port, const char* how) {
      return "  server { listen 127.0.0.1:" + std::to_string(port) + how + ";\n    access_log " +
             d + "served.log;\n" + locations;
    };
    nginx_ = std::make_unique<hit::test::nginx>(
        dir_,
        "  keepalive_requests 1000000;\n  ssl_certificate " + d +
            "named.pem; ssl_certificate_key " + d + "named.key; ssl_protocols TLSv1.3;\n" +
            server(plain_, "") + server(tls_, " ssl") + server(h2c_, " http2") +
            server(h2_, " ssl http2"),
        std::vector<unsigned short>{plain_, tls_, h2c_, h2_});
  }
  static void TearDownTestSuite() {
    nginx_.reset();
    pki_.reset();
  }
  void SetUp() override {
    if (!hit::test::nginx::installed()) GTEST_SKIP() << "nginx is not installed (scripts/setup)";
    ASSERT_TRUE(nginx_->up()) << "nginx did not start, or openssl could not make certificates";
    std::ofstream(dir_ / "served.log", std::ios::trunc).flush();  // (nginx appends)
  }

  static hit::test::result floor(std::vector<std::string> args) {
    args.insert(args.begin(), HIT_FLOOR_EXE);
    return hit::test::finish(hit::test::spawn(args), std::chrono::seconds(20), [](auto) {});
  }
  static long reported(const hit::test::result& r) {
    const auto at = r.out.find("requests: ");
    return at == std::string::npos ? -1 : std::stol(r.out.substr(at + 10));
  }
  // nginx's log lines, once they stop growing (nginx logs a request just after its response
  // went out, so the floor may have counted it a moment earlier).
  static long served() {
    const auto lines = [] {
      std::ifstream in(dir_ / "served.log");
      long n = 0;
      for (std::string line; std::getline(in, line);) ++n;
      return n;
    };
    long last = lines();
    for (int i = 0; i < 20; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      const long now = lines();
      if (now == last) break;
      last = now;
    }
    return last;
  }
  static std::string url(const char* scheme, unsigned short port, const char* path) {
    return std::string(scheme) + "://127.0.0.1:" + std::to_string(port) + path;
  }

  // Every request counted was served, and nginx served at most `in_flight` more (in flight at
  // the end) and `learning` (HTTP/1.1: the request that learnt the response's length).
  static void expect_counts_match(const hit::test::result& r, long in_flight, long learning = 1) {
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const long counted = reported(r);
    ASSERT_GT(counted, 100) << r.out;
    const long log = served();
    EXPECT_GE(log, counted + learning) << r.out;
    EXPECT_LE(log, counted + learning + in_flight) << r.out;
  }

  static inline std::unique_ptr<hit::test::test_pki> pki_;
  static inline std::filesystem::path dir_;
  static inline unsigned short plain_ = 0, tls_ = 0, h2c_ = 0, h2_ = 0;
  static inline std::unique_ptr<hit::test::nginx> nginx_;
};

TEST_F(floor_test, epoll_counts_what_nginx_served) {
  expect_counts_match(
      floor({"--io", "epoll", "-c", "4", "-d", "0.5", url("http", plain_, "/fixed")}), 4);
}

TEST_F(floor_test, uring_counts_what_nginx_served) {
  const auto r = floor({"--io", "uring", "-c", "4", "-d", "0.5", url("http", plain_, "/fixed")});
  if (r.exit_code != 0 && (r.err.find("without liburing") != std::string::npos ||
                           r.err.find("io_uring_queue_init") != std::string::npos))
    GTEST_SKIP() << "no io_uring here: " << r.err;
  expect_counts_match(r, 4);
}

TEST_F(floor_test, tls_counts_what_nginx_served) {
  expect_counts_match(floor({"-c", "4", "-d", "0.5", url("https", tls_, "/fixed")}), 4);
}

TEST_F(floor_test, h2c_counts_what_nginx_served) {
  // 3 connections of 4 streams: at most 12 in flight at the end.
  expect_counts_match(
      floor({"--h2", "-m", "4", "-c", "3", "-d", "0.5", url("http", h2c_, "/fixed")}), 12, 0);
}

TEST_F(floor_test, h2_over_tls_counts_what_nginx_served) {
  expect_counts_match(
      floor({"--h2", "-m", "4", "-c", "3", "-d", "0.5", url("https", h2_, "/fixed")}), 12, 0);
}

TEST_F(floor_test, h2_refill_each_counts_what_nginx_served) {
  expect_counts_match(floor({"--h2", "--refill-each", "-m", "4", "-c", "3", "-d", "0.5",
                             url("http", h2c_, "/fixed")}),
                      12, 0);
}

TEST_F(floor_test, h2_an_error_status_is_refused) {
  for (const auto& u : {url("http", h2c_, "/missing"), url("https", h2_, "/missing")}) {
    const auto r = floor({"--h2", "-c", "1", "-d", "1", u});
    EXPECT_EQ(r.exit_code, 1) << u << ": " << r.out;
    EXPECT_NE(r.err.find("not 200"), std::string::npos) << u << ": " << r.err;
  }
}

TEST_F(floor_test, responses_that_change_length_are_refused) {
  for (const auto* scheme : {"http", "https"}) {
    const auto r = floor({"-c", "2", "-d", "2",
                          url(scheme, std::string(scheme) == "http" ? plain_ : tls_, "/varying")});
    EXPECT_EQ(r.exit_code, 1) << scheme << ": " << r.out;
    EXPECT_NE(r.err.find("all of one length"), std::string::npos) << scheme << ": " << r.err;
  }
}

TEST_F(floor_test, a_server_that_never_answers_ends_the_run_with_one_line) {
  // A listener that accepts (the kernel's backlog) and never reads: the floor gives up.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 16), 0);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  const auto at = url("http", ntohs(a.sin_port), "/");
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"-c", "1", "-d", "1", at},
        std::vector<std::string>{"--h2", "-c", "1", "-d", "1", at}}) {
    const auto r = floor(args);
    EXPECT_EQ(r.exit_code, 1) << args.front() << ": " << r.out;
    EXPECT_LT(r.seconds, 15) << args.front();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  }
  ::close(fd);
}

TEST_F(floor_test, bad_arguments_are_one_line_and_exit_1) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--io", "kqueue", url("http", plain_, "/fixed")},
        std::vector<std::string>{"-c", "0", url("http", plain_, "/fixed")},
        std::vector<std::string>{"ftp://127.0.0.1/"}, std::vector<std::string>{"-c", "2"},
        std::vector<std::string>{"-c", "5x", url("http", plain_, "/fixed")},
        std::vector<std::string>{"http://127.0.0.1:70000/"},
        std::vector<std::string>{"--h2", "-m", "0", url("http", h2c_, "/fixed")},
        std::vector<std::string>{"--io", "uring", url("https", tls_, "/fixed")}}) {
    const auto r = floor(args);
    EXPECT_EQ(r.exit_code, 1) << args.front();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_EQ(r.err.rfind("floor: ", 0), 0U) << r.err;
  }
}

}  // namespace

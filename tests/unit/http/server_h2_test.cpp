// hit serve's HTTP/2, in process: nghttp (nghttp2-client) and curl on 127.0.0.1 as the other
// side, h2c with prior knowledge and h2 over TLS by ALPN, the knobs per stream, the settings, and
// HTTP/1.1 still answered on the same ports. Every process runs under `timeout -k`; the server
// is stopped and joined whatever the test's outcome.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../flow/watchdog.hpp"
#include "hit/http/server.hpp"

namespace {

using namespace std::chrono_literals;
using hit::flow::test::watchdog;
using hit::http::server;
using hit::http::server_config;

struct ran {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

// `sh -c COMMAND` under `timeout -k 2 20`, with stdout and stderr together. The command is ours:
// URLs are single-quoted by the callers.
ran run(const std::string& command) {
  const std::string bounded = "timeout -k 2 20 " + command + " 2>&1";
  ran r;
  std::FILE* p = ::popen(bounded.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string single_quoted(const std::string& url) {
  return "'" + url + "'";
}

// `nghttp -nv URL...`: every frame, as nghttp prints them, all URLs on one connection.
ran nghttp(const std::vector<std::string>& urls, const std::string& options = "") {
  std::string cmd = "nghttp -nv " + options;
  for (const auto& u : urls) cmd += " " + single_quoted(u);
  return run(cmd);
}

// `curl -sS -w ' VERSION STATUS SIZE' OPTIONS URL`: the body, then what curl saw.
ran curl(const std::string& options, const std::string& url) {
  return run("curl -sS -w ' %{http_version} %{http_code} %{size_download}' " + options + " " +
             single_quoted(url));
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// When nghttp says the DATA frame that ends stream `id` arrived, in seconds since it started;
// -1 if it never did. Its lines look like "[  1.003] recv DATA frame <length=14, flags=0x01,
// stream_id=13>".
double end_of_stream_at(const std::string& frames, int id) {
  const std::string tail = ", flags=0x01, stream_id=" + std::to_string(id) + ">";
  std::size_t line = 0;
  while (line < frames.size()) {
    const auto next = std::min(frames.find('\n', line), frames.size());
    const std::string text = frames.substr(line, next - line);
    if (text.find("] recv DATA frame <length=") != std::string::npos &&
        text.size() >= tail.size() &&
        text.compare(text.size() - tail.size(), tail.size(), tail) == 0)
      return std::stod(text.substr(1, text.find(']') - 1));
    line = next + 1;
  }
  return -1;
}

// The value of SETTINGS_MAX_CONCURRENT_STREAMS in the first SETTINGS frame nghttp received;
// empty when that frame has none.
std::string advertised_max_streams(const std::string& frames) {
  const auto at = frames.find("recv SETTINGS frame");
  if (at == std::string::npos) return "";
  const std::string settings = frames.substr(at, frames.find("\n[", at) - at);
  const std::string key = "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):";
  const auto value = settings.find(key);
  if (value == std::string::npos) return "";
  const auto from = value + key.size();
  return settings.substr(from, settings.find_first_not_of("0123456789", from) - from);
}

// A server on 127.0.0.1:0 served by its own thread.
class server_h2_test : public ::testing::Test {
 protected:
  void start(server_config cfg = {}) {
    auto listening = server::listen(cfg);
    ASSERT_TRUE(listening) << listening.error();
    srv_ = std::move(*listening);
    serving_ = std::thread([this] { srv_->run(); });
    base_ = std::string(cfg.tls.enabled ? "https" : "http") + "://" + srv_->local_address() + "/";
  }
  void start_tls(server_config cfg = {}) {
    cfg.tls.enabled = true;
    start(cfg);
  }
  void TearDown() override {
    if (!srv_) return;
    srv_->stop();
    serving_.join();
  }

  watchdog wd_{60s};
  std::unique_ptr<server> srv_;
  std::thread serving_;
  std::string base_;  // "http://127.0.0.1:PORT/" or https
};

TEST_F(server_h2_test, prior_knowledge_gets_http2_and_the_default_body) {
  start();
  const auto r = curl("--http2-prior-knowledge", base_);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "hello from hit 2 200 14");
  const auto big = curl("--http2-prior-knowledge -o /dev/null", base_ + "?size=100000");
  EXPECT_EQ(big.out, " 2 200 100000");
}

TEST_F(server_h2_test, http1_still_answers_on_the_same_port) {
  start();
  EXPECT_EQ(curl("--http1.1", base_).out, "hello from hit 1.1 200 14");
  // Both on one server, one after the other: each connection chose its own protocol.
  EXPECT_EQ(curl("--http2-prior-knowledge", base_ + "?size=3").out, "hel 2 200 3");
  EXPECT_EQ(curl("--http1.1", base_ + "?size=3").out, "hel 1.1 200 3");
}

TEST_F(server_h2_test, tls_alpn_picks_h2_when_offered_and_http1_otherwise) {
  start_tls();
  EXPECT_EQ(curl("-k --http2", base_ + "?size=5").out, "hello 2 200 5");
  EXPECT_EQ(curl("-k --http1.1", base_ + "?size=5").out, "hello 1.1 200 5");
  const auto frames = nghttp({base_ + "?size=40000"});
  EXPECT_EQ(frames.exit_code, 0) << frames.out;
  EXPECT_NE(frames.out.find("recv (stream_id=13) content-length: 40000"), std::string::npos)
      << frames.out;
  EXPECT_GT(end_of_stream_at(frames.out, 13), 0) << frames.out;
}

TEST_F(server_h2_test, status_size_and_content_length) {
  start();
  EXPECT_EQ(curl("--http2-prior-knowledge", base_ + "?status=503&size=3").out, "hel 2 503 3");
  const auto frames = nghttp({base_ + "?size=20"});
  EXPECT_NE(frames.out.find("recv (stream_id=13) :status: 200"), std::string::npos) << frames.out;
  EXPECT_NE(frames.out.find("recv (stream_id=13) content-length: 20"), std::string::npos);
  EXPECT_NE(frames.out.find("recv DATA frame <length=20, flags=0x01, stream_id=13>"),
            std::string::npos)
      << frames.out;
  const auto empty = nghttp({base_ + "?status=204"});
  EXPECT_NE(empty.out.find("recv (stream_id=13) :status: 204"), std::string::npos) << empty.out;
  EXPECT_EQ(empty.out.find("recv DATA frame"), std::string::npos) << empty.out;
}

TEST_F(server_h2_test, chunked_sends_the_body_in_two_data_frames_without_content_length) {
  start();
  const auto frames = nghttp({base_ + "?size=100&chunked=1"});
  EXPECT_EQ(frames.exit_code, 0) << frames.out;
  EXPECT_EQ(frames.out.find("content-length"), std::string::npos) << frames.out;
  EXPECT_NE(frames.out.find("recv DATA frame <length=50, flags=0x00, stream_id=13>"),
            std::string::npos)
      << frames.out;
  EXPECT_NE(frames.out.find("recv DATA frame <length=50, flags=0x01, stream_id=13>"),
            std::string::npos)
      << frames.out;
  EXPECT_EQ(count(frames.out, "recv DATA frame"), 2u) << frames.out;
}

TEST_F(server_h2_test, head_has_the_length_and_no_body) {
  start();
  const auto r = run("curl -sS -I --http2-prior-knowledge -w 'size %{size_download}' " +
                     single_quoted(base_ + "?size=1000"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("HTTP/2 200"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("content-length: 1000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("size 0"), std::string::npos) << r.out;
}

TEST_F(server_h2_test, reset_is_rst_stream_internal_error) {
  start();
  const auto frames = nghttp({base_ + "?reset=1"});
  EXPECT_NE(frames.out.find("recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>\n"
                            "          (error_code=INTERNAL_ERROR(0x02))"),
            std::string::npos)
      << frames.out;
  EXPECT_EQ(frames.out.find(":status"), std::string::npos) << frames.out;
}

TEST_F(server_h2_test, refuse_is_rst_stream_refused_stream) {
  start();
  const auto frames = nghttp({base_ + "?refuse=1"});
  EXPECT_NE(frames.out.find("recv RST_STREAM frame <length=4, flags=0x00, stream_id=13>\n"
                            "          (error_code=REFUSED_STREAM(0x07))"),
            std::string::npos)
      << frames.out;
  EXPECT_EQ(frames.out.find(":status"), std::string::npos) << frames.out;
}

TEST_F(server_h2_test, close_completes_the_response_then_goaway_names_its_stream) {
  start();
  // nghttp opens stream 13, then 15, on one connection.
  const auto frames = nghttp({base_ + "?close=1", base_ + "?size=5"});
  const auto data = frames.out.find("recv DATA frame <length=14, flags=0x01, stream_id=13>");
  const auto goaway = frames.out.find(
      "recv GOAWAY frame <length=8, flags=0x00, stream_id=0>\n"
      "          (last_stream_id=13, error_code=NO_ERROR(0x00)");
  ASSERT_NE(data, std::string::npos) << frames.out;
  ASSERT_NE(goaway, std::string::npos) << frames.out;
  EXPECT_LT(data, goaway) << frames.out;
  // Stream 15 is above the GOAWAY's last stream: never answered.
  EXPECT_EQ(frames.out.find("recv (stream_id=15) :status"), std::string::npos) << frames.out;
}

TEST_F(server_h2_test, max_streams_is_advertised) {
  start();
  EXPECT_EQ(advertised_max_streams(nghttp({base_}).out), "100");  // the default
  TearDown();
  srv_.reset();
  server_config cfg;
  cfg.max_streams = 7;
  start(cfg);
  const auto frames = nghttp({base_});
  EXPECT_EQ(advertised_max_streams(frames.out), "7") << frames.out;
}

TEST_F(server_h2_test, goaway_after_ends_the_connection_after_that_many_streams) {
  server_config cfg;
  cfg.goaway_after = 2;
  start(cfg);
  const auto frames = nghttp({base_ + "?a", base_ + "?b", base_ + "?c"});  // streams 13, 15, 17
  EXPECT_NE(frames.out.find("recv (stream_id=13) :status: 200"), std::string::npos) << frames.out;
  EXPECT_NE(frames.out.find("recv (stream_id=15) :status: 200"), std::string::npos) << frames.out;
  EXPECT_EQ(frames.out.find("recv (stream_id=17) :status"), std::string::npos) << frames.out;
  EXPECT_NE(frames.out.find("(last_stream_id=15, error_code=NO_ERROR(0x00)"), std::string::npos)
      << frames.out;
}

TEST_F(server_h2_test, a_delayed_stream_does_not_hold_the_others) {
  start();
  const auto frames = nghttp({base_ + "?delay=1500ms", base_ + "?size=5"});
  const double slow = end_of_stream_at(frames.out, 13);
  const double fast = end_of_stream_at(frames.out, 15);
  ASSERT_GE(fast, 0) << frames.out;
  ASSERT_GE(slow, 0) << frames.out;
  EXPECT_LT(fast, 1.0) << frames.out;   // not behind the delay
  EXPECT_GE(slow, 1.45) << frames.out;  // a timer never fires early
}

TEST_F(server_h2_test, a_client_that_leaves_during_delays_leaves_a_serving_server) {
  start();
  // nghttp gives up after 300 ms and closes the connection with both streams still delayed.
  const auto left = nghttp({base_ + "?delay=800ms", base_ + "?delay=1s"}, "-t 300ms");
  EXPECT_NE(left.out.find("Timeout"), std::string::npos) << left.out;
  std::this_thread::sleep_for(1200ms);  // past both delays: nothing of that connection fires
  EXPECT_EQ(curl("--http2-prior-knowledge", base_ + "?size=2").out, "he 2 200 2");
}

TEST_F(server_h2_test, the_stall_holds_http2_streams_too) {
  server_config cfg;
  cfg.pause_for = 1s;  // from the first request on
  start(cfg);
  const auto frames = nghttp({base_});
  EXPECT_GE(end_of_stream_at(frames.out, 13), 0.95) << frames.out;
}

TEST_F(server_h2_test, http1_only_knobs_are_ignored) {
  start();
  EXPECT_EQ(curl("--http2-prior-knowledge", base_ + "?hangup=1&size=2").out, "he 2 200 2");
  EXPECT_EQ(curl("--http2-prior-knowledge", base_ + "?garbage=1&size=2").out, "he 2 200 2");
}

TEST_F(server_h2_test, an_upload_beyond_the_default_window_does_not_stall) {
  start();
  // 3 MB: far past HTTP/2's default 64 KiB windows.
  const auto r =
      run("head -c 3000000 /dev/zero | curl -sS --http2-prior-knowledge "
          "--data-binary @- -w ' %{http_version} %{http_code} %{size_upload}' " +
          single_quoted(base_));
  EXPECT_EQ(r.out, "hello from hit 2 200 3000000");
}

TEST_F(server_h2_test, many_streams_at_once_all_succeed) {
  start_tls();
  // h2load prints "requests: 400 total, 400 started, 400 done, 400 succeeded, ...".
  const auto r = run("h2load -n 400 -c 4 -m 20 " + single_quoted(base_ + "?size=3000"));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("400 succeeded, 0 failed, 0 errored"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Application protocol: h2"), std::string::npos) << r.out;
}

}  // namespace

#include "hit/http/response_parser.hpp"

#include <gtest/gtest.h>

#include <string>

using hit::http::parse_status;
using hit::http::response_parser;

namespace {

// Feeds `wire` in pieces of `step` bytes the way a connection does: unconsumed bytes are kept
// and presented again with the next piece. Returns the final status and the leftover bytes.
struct outcome {
  parse_status status;
  std::string leftover;
};

outcome feed_in_steps(response_parser& p, const std::string& wire, std::size_t step,
                      bool eof_after = false) {
  std::string pending;
  std::size_t pos = 0;
  while (pos < wire.size()) {
    pending += wire.substr(pos, step);
    pos += step;
    std::size_t used = 0;
    const auto st = p.feed(pending, used);
    pending.erase(0, used);
    if (st != parse_status::need_more)
      return {st, pending + wire.substr(std::min(pos, wire.size()))};
  }
  if (eof_after) return {p.feed_eof(), pending};
  return {parse_status::need_more, pending};
}

const std::string simple = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";

}  // namespace

TEST(response_parser, content_length_body) {
  response_parser p;
  p.reset(false);
  auto r = feed_in_steps(p, simple, simple.size());
  EXPECT_EQ(r.status, parse_status::done);
  EXPECT_EQ(p.status(), 200u);
  EXPECT_EQ(p.body_bytes(), 5u);
  EXPECT_TRUE(p.keep_alive());
  EXPECT_TRUE(r.leftover.empty());
}

TEST(response_parser, a_response_split_at_every_byte) {
  for (std::size_t step : {1u, 2u, 3u, 7u, 16u}) {
    response_parser p;
    p.reset(false);
    auto r = feed_in_steps(p, simple, step);
    EXPECT_EQ(r.status, parse_status::done) << step;
    EXPECT_EQ(p.body_bytes(), 5u) << step;
  }
}

TEST(response_parser, chunked_body_split_across_reads) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5;ext=1\r\npedia\r\n"
      "0\r\nTrailer: x\r\n\r\n";
  for (std::size_t step : {std::size_t{1}, std::size_t{5}, wire.size()}) {
    response_parser p;
    p.reset(false);
    auto r = feed_in_steps(p, wire, step);
    EXPECT_EQ(r.status, parse_status::done) << step;
    EXPECT_EQ(p.body_bytes(), 9u) << step;
  }
}

TEST(response_parser, content_length_zero) {
  response_parser p;
  p.reset(false);
  EXPECT_EQ(feed_in_steps(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 100).status,
            parse_status::done);
  EXPECT_EQ(p.body_bytes(), 0u);
}

TEST(response_parser, head_response_has_no_body_whatever_the_header_says) {
  response_parser p;
  p.reset(true);
  auto r = feed_in_steps(p, "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 100);
  EXPECT_EQ(r.status, parse_status::done);
  EXPECT_EQ(p.body_bytes(), 0u);
}

TEST(response_parser, no_body_statuses) {
  for (const char* status : {"204 No Content", "304 Not Modified"}) {
    response_parser p;
    p.reset(false);
    const std::string wire = std::string("HTTP/1.1 ") + status + "\r\n\r\n" + simple;
    auto r = feed_in_steps(p, wire, wire.size());
    EXPECT_EQ(r.status, parse_status::done) << status;
    EXPECT_EQ(r.leftover, simple) << "the next response is left for the next parse";
  }
}

TEST(response_parser, interim_1xx_responses_are_skipped) {
  response_parser p;
  p.reset(false);
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: x\r\n\r\n" + simple;
  for (std::size_t step : {std::size_t{1}, std::size_t{9}, wire.size()}) {
    p.reset(false);
    auto r = feed_in_steps(p, wire, step);
    EXPECT_EQ(r.status, parse_status::done);
    EXPECT_EQ(p.status(), 200u);
    EXPECT_EQ(p.body_bytes(), 5u);
  }
}

TEST(response_parser, connection_close_is_reported) {
  response_parser p;
  p.reset(false);
  feed_in_steps(p, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", 100);
  EXPECT_FALSE(p.keep_alive());
  p.reset(false);
  feed_in_steps(p, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", 100);
  EXPECT_FALSE(p.keep_alive()) << "HTTP/1.0 without keep-alive closes";
}

TEST(response_parser, body_delimited_by_eof) {
  response_parser p;
  p.reset(false);
  auto r = feed_in_steps(p, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nsome body", 4, true);
  EXPECT_EQ(r.status, parse_status::done);
  EXPECT_EQ(p.body_bytes(), 9u);
}

TEST(response_parser, truncated_body_at_eof_is_an_error) {
  response_parser p;
  p.reset(false);
  auto r = feed_in_steps(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100, true);
  EXPECT_EQ(r.status, parse_status::error);
  EXPECT_TRUE(p.got_header());
}

TEST(response_parser, garbage_is_an_error) {
  response_parser p;
  p.reset(false);
  EXPECT_EQ(feed_in_steps(p, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 100).status, parse_status::error);
}

TEST(response_parser, oversized_header_is_an_error) {
  response_parser p(64);
  p.reset(false);
  const std::string wire = "HTTP/1.1 200 OK\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n";
  EXPECT_EQ(feed_in_steps(p, wire, wire.size()).status, parse_status::error);
}

TEST(response_parser, reusable_for_pipelined_responses) {
  response_parser p;
  std::string wire = simple + simple + simple;
  int done = 0;
  while (!wire.empty()) {
    p.reset(false);
    std::size_t used = 0;
    ASSERT_EQ(p.feed(wire, used), parse_status::done);
    wire.erase(0, used);
    ++done;
  }
  EXPECT_EQ(done, 3);
}

TEST(response_parser, eof_before_any_byte_is_an_error_not_an_assertion) {
  response_parser p;
  p.reset(false);
  EXPECT_EQ(p.feed_eof(), parse_status::error);
  EXPECT_FALSE(p.got_header());
}

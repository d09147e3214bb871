// http1_pipeline: requests staged back to back in the order pushed, each stamped when its first
// byte is staged; responses parsed in order from bytes that arrive in any split, each as the
// answer of its own request (a HEAD's without a body); a lost connection gives the records back
// and the output starts over.

#include "detail/http1_pipeline.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

using hit::http::parse_status;
using hit::http::detail::clock;
using hit::http::detail::http1_pipeline;
using hit::http::detail::in_flight;
using hit::http::detail::prepared_request;

prepared_request raw(std::string head, std::string body = {}, bool is_head = false) {
  prepared_request p;
  p.http1.head = std::move(head);
  p.http1.body = std::move(body);
  p.head = is_head;
  return p;
}

in_flight rec(std::uint32_t target, std::uint64_t seq) {
  in_flight r;
  r.target = target;
  r.seq = seq;
  return r;
}

// Everything staged and written, as one string.
std::string drain_output(http1_pipeline& p, clock::time_point now) {
  std::string out;
  while (p.unwritten()) {
    p.stage(now);
    const auto b = p.output();
    out.append(static_cast<const char*>(b.data()), b.size());
    p.wrote(b.size());
  }
  return out;
}

void deliver(http1_pipeline& p, std::string_view bytes) {
  auto b = p.read_buffer();
  ASSERT_LE(bytes.size(), b.size());
  std::memcpy(b.data(), bytes.data(), bytes.size());
  p.received(bytes.size());
}

class http1_pipeline_test : public ::testing::Test {
 protected:
  std::vector<prepared_request> requests_{raw("GET /a HTTP/1.1\r\n\r\n"),
                                          raw("POST /b HTTP/1.1\r\n\r\n", "body-b"),
                                          raw("HEAD /c HTTP/1.1\r\n\r\n", {}, true)};
  std::uint64_t random_ = 1;
};

TEST_F(http1_pipeline_test, requests_go_out_back_to_back_in_order_each_stamped_once) {
  http1_pipeline p(requests_, 4, 0);
  p.push(rec(0, 10), random_);
  p.push(rec(1, 11), random_);
  EXPECT_EQ(p.size(), 2u);
  const auto t1 = clock::now();
  EXPECT_EQ(drain_output(p, t1), "GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\n\r\nbody-b");
  EXPECT_EQ(p.front().sent, t1);
  EXPECT_EQ(p.front().due, t1) << "unpaced: latency runs from the send";
  // A request pushed later goes out alone, with its own time; the earlier keep theirs.
  p.push(rec(2, 12), random_);
  const auto t2 = t1 + std::chrono::milliseconds(5);
  EXPECT_EQ(drain_output(p, t2), "HEAD /c HTTP/1.1\r\n\r\n");
  EXPECT_EQ(p.front().sent, t1);
  EXPECT_TRUE(p.front_written());
}

TEST_F(http1_pipeline_test, a_partial_write_resumes_where_it_stopped) {
  http1_pipeline p(requests_, 4, 0);
  p.push(rec(1, 0), random_);
  p.push(rec(0, 1), random_);
  p.stage(clock::now());
  auto b = p.output();
  ASSERT_GT(b.size(), 7u);
  std::string out(static_cast<const char*>(b.data()), 7);
  p.wrote(7);
  EXPECT_FALSE(p.front_written());
  out += drain_output(p, clock::now());
  EXPECT_EQ(out, "POST /b HTTP/1.1\r\n\r\nbody-bGET /a HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(p.front_written());
  EXPECT_FALSE(p.unwritten());
}

TEST_F(http1_pipeline_test, a_body_larger_than_a_write_is_staged_in_pieces) {
  std::vector<prepared_request> big{
      raw("PUT /big HTTP/1.1\r\n\r\n", std::string(http1_pipeline::stage_size * 2 + 123, 'x')),
      raw("GET /after HTTP/1.1\r\n\r\n")};
  http1_pipeline p(big, 2, 0);
  p.push(rec(0, 0), random_);
  p.push(rec(1, 1), random_);
  p.stage(clock::now());
  EXPECT_EQ(p.output().size(), http1_pipeline::stage_size);
  p.wrote(http1_pipeline::stage_size);
  const auto rest = drain_output(p, clock::now());
  const auto expected = big[0].http1.head + big[0].http1.body + big[1].http1.head;
  EXPECT_EQ(std::string(expected.substr(0, http1_pipeline::stage_size)) + rest, expected);
}

TEST_F(http1_pipeline_test, responses_in_one_read_complete_the_oldest_in_turn) {
  http1_pipeline p(requests_, 4, 0);
  p.push(rec(0, 0), random_);
  p.push(rec(2, 1), random_);  // HEAD: its Content-Length announces a body that never comes
  p.push(rec(1, 2), random_);
  drain_output(p, clock::now());
  deliver(p,
          "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
          "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"
          "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno");
  const unsigned expected[] = {200, 200, 404};
  const std::uint64_t seqs[] = {0, 1, 2};
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(p.empty());
    EXPECT_EQ(p.front().seq, seqs[i]);
    ASSERT_EQ(p.parse(), parse_status::done) << i;
    EXPECT_EQ(p.status(), expected[i]);
    EXPECT_TRUE(p.keep_alive());
    EXPECT_GT(p.front().bytes_in, 0u);
    p.pop();
  }
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.buffered()) << "every byte belonged to an answer";
}

TEST_F(http1_pipeline_test, a_response_split_across_reads_waits_for_its_rest) {
  const std::string two =
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
      "HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 6\r\n\r\nsecond";
  for (std::size_t cut = 1; cut < two.size(); cut += 7) {
    http1_pipeline q(requests_, 2, 0);
    q.push(rec(0, 0), random_);
    q.push(rec(0, 1), random_);
    drain_output(q, clock::now());
    deliver(q, std::string_view(two).substr(0, cut));
    std::vector<unsigned> seen;
    auto take = [&] {
      while (!q.empty()) {
        const auto st = q.parse();
        if (st != parse_status::done) {
          EXPECT_EQ(st, parse_status::need_more);
          return;
        }
        seen.push_back(q.status());
        if (seen.size() == 2) {
          EXPECT_FALSE(q.keep_alive());
        }
        q.pop();
      }
    };
    take();
    deliver(q, std::string_view(two).substr(cut));
    take();
    EXPECT_EQ(seen, (std::vector<unsigned>{200, 201})) << "cut at " << cut;
    EXPECT_FALSE(q.buffered());
  }
}

TEST_F(http1_pipeline_test, a_header_larger_than_the_buffer_is_an_error) {
  http1_pipeline p(requests_, 1, 0);
  p.push(rec(0, 0), random_);
  drain_output(p, clock::now());
  // (The parser takes the status line as soon as it is whole: the buffer has room again.)
  deliver(p, "HTTP/1.1 200 OK\r\nX: ");
  auto st = p.parse();
  std::size_t sent = 0;
  for (; st == parse_status::need_more && sent <= 2 * http1_pipeline::buffer_size; sent += 1000) {
    const auto room = p.read_buffer().size();
    ASSERT_GT(room, 0u) << "a read into no room would never end";
    deliver(p, std::string(std::min<std::size_t>(room, 1000), 'y'));
    st = p.parse();
  }
  EXPECT_EQ(st, parse_status::error);
  EXPECT_LE(sent, http1_pipeline::buffer_size + 1000);
}

TEST_F(http1_pipeline_test, a_response_framed_by_the_close_completes_at_eof) {
  http1_pipeline p(requests_, 2, 0);
  p.push(rec(0, 0), random_);
  p.push(rec(0, 1), random_);
  drain_output(p, clock::now());
  EXPECT_EQ(p.eof(), parse_status::need_more) << "no byte of an answer";
  deliver(p, "HTTP/1.1 200 OK\r\n\r\nbody until the close");
  EXPECT_EQ(p.parse(), parse_status::need_more);
  EXPECT_EQ(p.eof(), parse_status::done);
  EXPECT_EQ(p.status(), 200u);
}

TEST_F(http1_pipeline_test, an_answer_cut_off_by_the_close_is_an_error) {
  // Even before the parser has taken any of it: the status line is not whole yet.
  http1_pipeline p(requests_, 2, 0);
  p.push(rec(0, 0), random_);
  drain_output(p, clock::now());
  deliver(p, "HTTP/1.1 2");
  EXPECT_EQ(p.parse(), parse_status::need_more);
  EXPECT_EQ(p.eof(), parse_status::error);
}

TEST_F(http1_pipeline_test, a_lost_connection_gives_every_record_back_and_starts_over) {
  http1_pipeline p(requests_, 3, 0);
  p.push(rec(0, 7), random_);
  p.push(rec(1, 8), random_);
  p.stage(clock::now());
  p.wrote(3);
  deliver(p, "HTTP/1.1 2");
  p.reset();
  EXPECT_FALSE(p.buffered());
  EXPECT_EQ(p.take_front().seq, 7u);
  EXPECT_EQ(p.take_front().seq, 8u);
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.unwritten());
  // The next connection writes its requests from their first byte.
  p.push(rec(0, 9), random_);
  EXPECT_EQ(drain_output(p, clock::now()), "GET /a HTTP/1.1\r\n\r\n");
}

TEST_F(http1_pipeline_test, the_ring_wraps_without_mixing_requests_up) {
  http1_pipeline p(requests_, 2, 0);
  std::uint64_t next = 0, answered = 0;
  for (int round = 0; round < 5; ++round) {
    for (; !p.full(); ++next) p.push(rec(static_cast<std::uint32_t>(next % 2), next), random_);
    drain_output(p, clock::now());
    deliver(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    ASSERT_EQ(p.parse(), parse_status::done);
    EXPECT_EQ(p.front().seq, answered++);
    p.pop();
  }
  EXPECT_EQ(p.size(), 1u);
  EXPECT_EQ(p.front().seq, answered);
}

}  // namespace

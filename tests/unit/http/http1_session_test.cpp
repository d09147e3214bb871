// http1_session: a response parsed from bytes that arrive in any split; its buffer starts at
// 2 KiB and grows once to 8 KiB, for a header that does not fit or a read that fills it, and a
// header beyond 8 KiB is an error.

#include "detail/http1_session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

namespace {

using hit::http::parse_status;
using hit::http::detail::http1_session;
using hit::http::detail::in_flight;
using hit::http::detail::prepared_request;

// Offers `bytes` to the session as reads of at most `chunk` bytes (and at most the room it
// gives); the status after the last read, or the first that is not need_more.
parse_status deliver(http1_session& s, std::string_view bytes, std::size_t chunk) {
  auto st = parse_status::need_more;
  while (!bytes.empty()) {
    const auto room = s.read_buffer();
    EXPECT_GT(room.size(), 0u) << "a read is never offered zero bytes of room";
    if (room.size() == 0) return parse_status::error;
    const std::size_t n = std::min({chunk, room.size(), bytes.size()});
    std::memcpy(room.data(), bytes.data(), n);
    bytes.remove_prefix(n);
    st = s.received(n);
    if (st != parse_status::need_more) return st;
  }
  return st;
}

std::string response(std::size_t header_padding, std::size_t body) {
  return "HTTP/1.1 200 OK\r\nX-Pad: " + std::string(header_padding, 'p') +
         "\r\nContent-Length: " + std::to_string(body) + "\r\n\r\n" + std::string(body, 'b');
}

class http1_session_test : public ::testing::Test {
 protected:
  http1_session start() {
    http1_session s(requests_);
    s.assign(in_flight{});
    s.begin();
    return s;
  }
  std::vector<prepared_request> requests_{[] {
    prepared_request p;
    p.http1.head = "GET / HTTP/1.1\r\n\r\n";
    return p;
  }()};
};

TEST_F(http1_session_test, small_responses_keep_the_small_buffer) {
  auto s = start();
  EXPECT_EQ(s.capacity(), http1_session::initial_buffer_size);
  for (int i = 0; i < 100; ++i) {
    s.begin();
    ASSERT_EQ(deliver(s, response(100, 16), 4096), parse_status::done) << i;
    EXPECT_EQ(s.status(), 200u);
    EXPECT_FALSE(s.leftover());
  }
  EXPECT_EQ(s.capacity(), http1_session::initial_buffer_size);
}

TEST_F(http1_session_test, a_header_larger_than_the_small_buffer_grows_it_in_any_split) {
  const auto r = response(5000, 10);
  for (const std::size_t chunk : {1u, 7u, 1000u, 2048u, 100000u}) {
    auto s = start();
    EXPECT_EQ(deliver(s, r, chunk), parse_status::done) << chunk;
    EXPECT_EQ(s.status(), 200u) << chunk;
    EXPECT_EQ(s.capacity(), http1_session::buffer_size) << chunk;
    EXPECT_EQ(s.current().bytes_in, r.size()) << chunk;
  }
}

TEST_F(http1_session_test, a_header_larger_than_the_largest_buffer_is_an_error) {
  auto s = start();
  EXPECT_EQ(deliver(s, response(9000, 0), 100000), parse_status::error);
}

TEST_F(http1_session_test, a_read_that_fills_the_buffer_grows_it_for_a_large_body) {
  auto s = start();
  const auto r = response(10, 50000);
  EXPECT_EQ(deliver(s, r, 100000), parse_status::done);
  EXPECT_EQ(s.capacity(), http1_session::buffer_size);
  EXPECT_EQ(s.current().bytes_in, r.size());
}

TEST_F(http1_session_test, bytes_beyond_the_response_are_kept_as_leftover) {
  auto s = start();
  EXPECT_EQ(deliver(s, response(10, 5) + "HTTP/1.1", 100000), parse_status::done);
  EXPECT_TRUE(s.leftover());
}

}  // namespace

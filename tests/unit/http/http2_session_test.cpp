// http2_session (the client's HTTP/2 on one connection) against an nghttp2 server session in
// memory: the bytes each side produces are handed to the other, no sockets. Checks the framing
// of requests, the stream limit, and how every request ends: a response, a reset, a refusal
// (RST_STREAM REFUSED_STREAM, above a GOAWAY's last stream id), a timeout, or handed back when
// the connection is lost.

#include "detail/http2_session.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "detail/http2_request.hpp"

namespace {

using hit::http::detail::clock;
using hit::http::detail::http2_request;
using hit::http::detail::http2_session;
using hit::http::detail::in_flight;
using hit::http::detail::stream_outcome;

// A scripted server: answers every request with 200 and a body, unless told otherwise.
class server {
 public:
  server() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_server_new(&s_, cb, this);
    nghttp2_session_callbacks_del(cb);
  }
  ~server() { nghttp2_session_del(s_); }
  void settings(std::uint32_t max_streams) {
    const nghttp2_settings_entry e[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams}};
    nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, e, 1);
  }
  void feed(const std::string& bytes) {
    ASSERT_EQ(nghttp2_session_mem_recv(s_, reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                       bytes.size()),
              static_cast<ssize_t>(bytes.size()));
  }
  std::string drain() {
    std::string out;
    for (;;) {
      const std::uint8_t* p = nullptr;
      const auto n = nghttp2_session_mem_send(s_, &p);
      if (n <= 0) return out;
      out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
  }
  void respond(std::int32_t id, const char* status = "200") {
    const nghttp2_nv nv[] = {{(std::uint8_t*)":status", (std::uint8_t*)status, 7,
                              std::strlen(status), NGHTTP2_NV_FLAG_NONE}};
    nghttp2_submit_response(s_, id, nv, 1, nullptr);  // no body: HEADERS ends the stream
  }
  void reset(std::int32_t id, std::uint32_t code) {
    nghttp2_submit_rst_stream(s_, NGHTTP2_FLAG_NONE, id, code);
  }
  void goaway(std::int32_t last) {
    nghttp2_submit_goaway(s_, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, nullptr, 0);
  }
  std::vector<std::int32_t> requests;  // stream ids, in arrival order
  std::map<std::int32_t, std::map<std::string, std::string>> fields;

 private:
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n,
                       std::size_t nl, const std::uint8_t* v, std::size_t vl, std::uint8_t,
                       void* u) {
    static_cast<server*>(u)->fields[f->hd.stream_id][std::string((const char*)n, nl)] =
        std::string((const char*)v, vl);
    return 0;
  }
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* u) {
    if (f->hd.type == NGHTTP2_HEADERS && (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
      static_cast<server*>(u)->requests.push_back(f->hd.stream_id);
    return 0;
  }
  nghttp2_session* s_ = nullptr;
};

class http2_session_test : public ::testing::Test {
 protected:
  http2_session_test() {
    hit::http::url u{"https", "example.test", "443", "/path?q=1", "example.test"};
    hit::http::request_spec spec;
    spec.headers = {{"X-Trace", "abc"}, {"Connection", "keep-alive"}};
    requests_.assign(1, {});
    requests_[0].http2 = hit::http::detail::build_http2_request(u, spec);
  }
  std::string client_out() {
    std::string out;
    for (auto b = client_->output(); b.size() > 0; b = client_->output()) {
      out.append(static_cast<const char*>(b.data()), b.size());
      client_->wrote(b.size());
    }
    return out;
  }
  void to_client(const std::string& bytes) {
    auto in = client_->read_buffer();
    ASSERT_LE(bytes.size(), in.size());
    std::memcpy(in.data(), bytes.data(), bytes.size());
    ASSERT_TRUE(client_->received(bytes.size(), clock::now()));
  }
  // One round trip: what the client queued goes to the server, the server's answer back.
  void exchange() {
    srv_.feed(client_out());
    to_client(srv_.drain());
  }
  unsigned submit_all(unsigned most) {
    unsigned n = 0;
    while (n < most && client_->can_submit() &&
           client_->submit(in_flight{.sent = clock::now() - std::chrono::seconds(10 - n)}))
      ++n;
    return n;
  }
  void start(unsigned streams) {
    client_ = std::make_unique<http2_session>(requests_, streams, 20, counters_);
    client_->start();
  }
  // A connection past the SETTINGS exchange with `streams` requests at the server.
  void with_requests_at_the_server(unsigned streams) {
    start(streams);
    srv_.settings(100);
    submit_all(1);
    exchange();
    submit_all(streams);
    srv_.feed(client_out());
    ASSERT_EQ(srv_.requests.size(), streams);
  }

  std::vector<hit::http::detail::prepared_request> requests_;
  hit::stats::http2_counters counters_;
  std::unique_ptr<http2_session> client_;
  server srv_;
};

TEST_F(http2_session_test, one_stream_until_the_servers_settings_then_its_limit) {
  start(8);
  EXPECT_EQ(submit_all(8), 1u);  // before the server's SETTINGS: one
  srv_.settings(3);
  exchange();
  EXPECT_EQ(submit_all(8), 2u);  // the server allows 3 at once
  EXPECT_EQ(client_->active(), 3u);
  srv_.feed(client_out());
  ASSERT_EQ(srv_.requests.size(), 3u);
  const auto& f = srv_.fields[srv_.requests[0]];
  EXPECT_EQ(f.at(":method"), "GET");
  EXPECT_EQ(f.at(":scheme"), "https");
  EXPECT_EQ(f.at(":authority"), "example.test");
  EXPECT_EQ(f.at(":path"), "/path?q=1");
  EXPECT_EQ(f.at("x-trace"), "abc");
  EXPECT_EQ(f.count("connection"), 0u);  // forbidden in HTTP/2
  for (auto id : srv_.requests) srv_.respond(id);
  to_client(srv_.drain());
  ASSERT_EQ(client_->outcomes().size(), 3u);
  for (const auto& o : client_->outcomes()) {
    EXPECT_EQ(o.what, stream_outcome::kind::response);
    EXPECT_EQ(o.status, 200u);
    EXPECT_GT(o.rec.bytes_in, 0u);
  }
  EXPECT_EQ(client_->active(), 0u);
  EXPECT_EQ(counters_.stream_limit, 3u);
  EXPECT_EQ(counters_.peak_streams, 3u);
  EXPECT_GT(counters_.header_bytes_decoded, 0u);
}

// The connection refills unpaced streams once half are free (connection_http2.cpp).
TEST_F(http2_session_test, half_free_once_half_the_streams_are_free) {
  with_requests_at_the_server(4);
  EXPECT_FALSE(client_->half_free());  // 0 of 4 free
  srv_.respond(srv_.requests[0]);
  to_client(srv_.drain());
  EXPECT_FALSE(client_->half_free());  // 1 of 4
  srv_.respond(srv_.requests[1]);
  to_client(srv_.drain());
  EXPECT_TRUE(client_->half_free());  // 2 of 4
  // The server lowers its limit below the streams still open: none is free.
  srv_.settings(1);
  to_client(srv_.drain());
  EXPECT_EQ(client_->active(), 2u);
  EXPECT_FALSE(client_->half_free());
  EXPECT_FALSE(client_->can_submit());
}

TEST_F(http2_session_test, resets_and_refusals_are_told_apart) {
  with_requests_at_the_server(4);
  srv_.respond(srv_.requests[0], "503");
  srv_.reset(srv_.requests[1], NGHTTP2_REFUSED_STREAM);
  srv_.reset(srv_.requests[2], NGHTTP2_INTERNAL_ERROR);
  to_client(srv_.drain());
  std::map<stream_outcome::kind, int> seen;
  for (const auto& o : client_->outcomes()) ++seen[o.what];
  EXPECT_EQ(seen[stream_outcome::kind::response], 1);
  EXPECT_EQ(seen[stream_outcome::kind::refused], 1);
  EXPECT_EQ(seen[stream_outcome::kind::reset], 1);
  EXPECT_EQ(client_->open_streams(), 1u);
  // The connection is lost: the one still open is handed back, once.
  EXPECT_EQ(client_->take_all().size(), 1u);
}

TEST_F(http2_session_test, goaway_refuses_the_streams_above_its_last_id) {
  with_requests_at_the_server(4);
  srv_.respond(srv_.requests[0]);
  srv_.goaway(srv_.requests[1]);  // the second is processed, the third and fourth are not
  to_client(srv_.drain());
  EXPECT_TRUE(client_->going_away());
  EXPECT_FALSE(client_->can_submit());
  int refused = 0, responses = 0;
  for (const auto& o : client_->outcomes()) {
    refused += o.what == stream_outcome::kind::refused;
    responses += o.what == stream_outcome::kind::response;
  }
  EXPECT_EQ(responses, 1);
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(client_->open_streams(), 1u);  // the second still gets its answer
  EXPECT_EQ(counters_.goaways, 1u);
}

TEST_F(http2_session_test, requests_not_yet_sent_when_goaway_arrives_are_refused_on_output) {
  start(4);
  srv_.settings(100);
  submit_all(1);
  exchange();
  srv_.feed(client_out());
  ASSERT_EQ(srv_.requests.size(), 1u);
  submit_all(4);  // three more, queued in nghttp2, not yet written
  srv_.respond(srv_.requests[0]);
  srv_.goaway(srv_.requests[0]);
  to_client(srv_.drain());
  EXPECT_EQ(client_->outcomes().size(), 1u);  // the response
  client_out();  // nghttp2 now finds it may not start the three: refused, while sending
  ASSERT_EQ(client_->outcomes().size(), 4u);
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_EQ(client_->outcomes()[i].what, stream_outcome::kind::refused);
  EXPECT_EQ(client_->active(), 0u);
}

TEST_F(http2_session_test, expired_streams_are_reset_and_the_connection_takes_no_more) {
  start(4);
  srv_.settings(100);
  submit_all(1);
  exchange();
  submit_all(4);  // the first sent 10 s ago, the next three 10, 9 and 8 s ago
  const auto cancelled = client_->cancel_expired(clock::now() - std::chrono::milliseconds(8500));
  EXPECT_EQ(cancelled.size(), 3u);
  EXPECT_EQ(client_->open_streams(), 1u);
  EXPECT_TRUE(client_->closing());
  EXPECT_FALSE(client_->can_submit());
  srv_.feed(client_out());           // the requests, and RST_STREAM CANCEL for three of them
  EXPECT_EQ(client_->active(), 1u);  // the reset streams are released once sent
  EXPECT_TRUE(client_->closing());   // still: the connection is done with new streams
  EXPECT_EQ(client_->take_all().size(), 1u);
  EXPECT_TRUE(client_->outcomes().empty());  // a timed-out stream is no outcome
}

TEST_F(http2_session_test, a_server_speaking_http1_is_a_protocol_error) {
  start(1);
  submit_all(1);
  client_out();
  const std::string h1 = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  to_client(h1);
  EXPECT_FALSE(client_->done());
  client_out();                  // nghttp2's GOAWAY (PROTOCOL_ERROR) goes out
  EXPECT_TRUE(client_->done());  // it reads no more: the open stream will never end
  EXPECT_EQ(client_->open_streams(), 1u);
}

}  // namespace

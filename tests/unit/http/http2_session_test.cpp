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
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
    nghttp2_session_server_new(&s_, cb, this);
    nghttp2_session_callbacks_del(cb);
  }
  ~server() { nghttp2_session_del(s_); }
  void settings(std::uint32_t max_streams, std::uint32_t table_size = 4096) {
    const nghttp2_settings_entry e[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_streams},
                                        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, table_size}};
    nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, e, 2);
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
  // A response with `fields` (":status" first) and a body of `size` bytes, in DATA frames.
  void respond_with(std::int32_t id, std::vector<std::pair<std::string, std::string>> response,
                    std::size_t size) {
    std::vector<nghttp2_nv> nv;
    for (auto& [n, v] : response)
      nv.push_back({(std::uint8_t*)n.data(), (std::uint8_t*)v.data(), n.size(), v.size(),
                    NGHTTP2_NV_FLAG_NONE});
    bodies_[id] = size;
    nghttp2_data_provider d{};
    d.read_callback = read_body;
    nghttp2_submit_response(s_, id, nv.data(), nv.size(), &d);  // (nghttp2 copies the fields)
  }
  // Informational HEADERS (1xx), not ending the stream.
  void inform(std::int32_t id, const char* status) {
    const nghttp2_nv nv[] = {{(std::uint8_t*)":status", (std::uint8_t*)status, 7,
                              std::strlen(status), NGHTTP2_NV_FLAG_NONE}};
    nghttp2_submit_headers(s_, NGHTTP2_FLAG_NONE, id, nullptr, nv, 1, nullptr);
  }
  void ping() { nghttp2_submit_ping(s_, NGHTTP2_FLAG_NONE, nullptr); }
  void reset(std::int32_t id, std::uint32_t code) {
    nghttp2_submit_rst_stream(s_, NGHTTP2_FLAG_NONE, id, code);
  }
  void goaway(std::int32_t last) {
    nghttp2_submit_goaway(s_, NGHTTP2_FLAG_NONE, last, NGHTTP2_NO_ERROR, nullptr, 0);
  }
  std::vector<std::int32_t> requests;  // stream ids, in arrival order
  std::map<std::int32_t, std::map<std::string, std::string>> fields;
  std::map<std::int32_t, std::size_t> received;  // request body bytes
  int ping_acks = 0;

 private:
  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n,
                       std::size_t nl, const std::uint8_t* v, std::size_t vl, std::uint8_t,
                       void* u) {
    static_cast<server*>(u)->fields[f->hd.stream_id][std::string((const char*)n, nl)] =
        std::string((const char*)v, vl);
    return 0;
  }
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* u) {
    auto* self = static_cast<server*>(u);
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM))
      self->requests.push_back(f->hd.stream_id);
    if (f->hd.type == NGHTTP2_PING && (f->hd.flags & NGHTTP2_FLAG_ACK)) ++self->ping_acks;
    return 0;
  }
  static int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t*,
                     std::size_t n, void* u) {
    static_cast<server*>(u)->received[id] += n;
    return 0;
  }
  static ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source*, void* u) {
    auto& left = static_cast<server*>(u)->bodies_[id];
    const auto n = std::min(length, left);
    std::memset(buf, 'r', n);
    left -= n;
    if (left == 0) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }
  std::map<std::int32_t, std::size_t> bodies_;  // response bytes left to send
  nghttp2_session* s_ = nullptr;
};

class http2_session_test : public ::testing::Test {
 protected:
  http2_session_test() {
    hit::http::url u{"https", "example.test", "443", "/path?q=1", "example.test"};
    hit::http::request_spec spec;
    spec.headers = {{"X-Trace", "abc"}, {"Connection", "keep-alive"}};
    requests_.resize(1);
    requests_[0].http2 = hit::http::detail::build_http2_request(u, spec);
    hit::http::detail::http2_request* all[] = {&requests_[0].http2};
    hit::http::detail::number_http2_fields(all);
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
  unsigned submit_all(unsigned most, std::uint32_t target = 0) {
    unsigned n = 0;
    while (n < most && client_->can_submit() &&
           client_->submit(
               in_flight{.sent = clock::now() - std::chrono::seconds(10 - n), .target = target}))
      ++n;
    return n;
  }
  void start(unsigned streams, unsigned window_bits = 20) {
    client_ = std::make_unique<http2_session>(requests_, streams, window_bits, counters_);
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

TEST_F(http2_session_test, requests_not_yet_sent_when_goaway_arrives_are_refused_and_not_sent) {
  start(4);
  srv_.settings(100);
  submit_all(1);
  exchange();
  srv_.feed(client_out());
  ASSERT_EQ(srv_.requests.size(), 1u);
  submit_all(4);  // three more, queued, not yet written
  srv_.respond(srv_.requests[0]);
  srv_.goaway(srv_.requests[0]);
  to_client(srv_.drain());
  ASSERT_EQ(client_->outcomes().size(), 4u);  // the response, and the three refused
  EXPECT_EQ(client_->outcomes()[0].what, stream_outcome::kind::response);
  for (std::size_t i = 1; i < 4; ++i)
    EXPECT_EQ(client_->outcomes()[i].what, stream_outcome::kind::refused);
  EXPECT_EQ(client_->active(), 0u);
  srv_.feed(client_out());  // their HEADERS are not sent: no stream opened after the GOAWAY
  EXPECT_EQ(srv_.requests.size(), 1u);
  EXPECT_TRUE(client_->done());
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

// The DATA payload bytes in what the client wrote (after the preface, if it is there).
std::size_t data_bytes(const std::string& out) {
  std::size_t at = out.rfind("PRI * HTTP/2.0", 0) == 0 ? 24 : 0, sum = 0;
  while (at + 9 <= out.size()) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(out.data() + at);
    const std::size_t length = (std::size_t{p[0]} << 16) | (std::size_t{p[1]} << 8) | p[2];
    if (p[3] == 0) sum += length;
    at += 9 + length;
  }
  return sum;
}

// Each stream's response, by kind, once the exchanges settle (at most `rounds`).
std::map<stream_outcome::kind, int> kinds(const std::vector<stream_outcome>& o) {
  std::map<stream_outcome::kind, int> seen;
  for (const auto& x : o) ++seen[x.what];
  return seen;
}

TEST_F(http2_session_test, many_requests_decode_at_the_server_with_its_table_limit) {
  // A table of 64 bytes holds one of the request's fields at a time: entries are evicted and
  // the limit is signalled (nghttp2 refuses a block without the size update).
  start(4);
  srv_.settings(100, 64);
  submit_all(1);
  exchange();
  for (int round = 0; round < 20; ++round) {
    submit_all(4);
    srv_.feed(client_out());
    for (auto id : srv_.requests) srv_.respond(id);
    srv_.requests.clear();
    to_client(srv_.drain());
  }
  ASSERT_EQ(client_->outcomes().size(), 80u);  // the first, 3 more in the first round, then 4s
  EXPECT_EQ(kinds(client_->outcomes())[stream_outcome::kind::response], 80);
  for (const auto& [id, f] : srv_.fields) {
    EXPECT_EQ(f.at(":authority"), "example.test") << id;
    EXPECT_EQ(f.at(":path"), "/path?q=1") << id;
    EXPECT_EQ(f.at("x-trace"), "abc") << id;
  }
}

TEST_F(http2_session_test, a_body_larger_than_the_servers_window_is_sent_whole) {
  hit::http::request_spec spec;
  spec.method = "POST";
  spec.body = std::string(200'000, 'b');  // three times the server's default window
  requests_.push_back({});
  requests_[1].http2 = hit::http::detail::build_http2_request(
      {"https", "example.test", "443", "/up", "example.test"}, spec);
  hit::http::detail::http2_request* all[] = {&requests_[0].http2, &requests_[1].http2};
  hit::http::detail::number_http2_fields(all);
  start(2);
  srv_.settings(100);
  submit_all(1);
  exchange();
  srv_.feed(client_out());
  srv_.respond(srv_.requests[0]);
  to_client(srv_.drain());
  srv_.requests.clear();
  ASSERT_EQ(submit_all(2, 1), 2u);
  // Before the server gives back any window: at most its connection window (65 535 bytes).
  const auto first = client_out();
  EXPECT_EQ(data_bytes(first), 65'535u);
  srv_.feed(first);
  to_client(srv_.drain());
  for (int round = 0; round < 50 && srv_.requests.size() < 2; ++round) exchange();
  ASSERT_EQ(srv_.requests.size(), 2u);
  for (auto id : srv_.requests) {
    EXPECT_EQ(srv_.received[id], 200'000u);
    EXPECT_EQ(srv_.fields[id].at("content-length"), "200000");
    srv_.respond(id);
  }
  to_client(srv_.drain());
  EXPECT_EQ(kinds(client_->outcomes())[stream_outcome::kind::response], 3);
}

TEST_F(http2_session_test,
       a_response_larger_than_the_window_comes_whole_as_the_window_is_given_back) {
  start(1, 16);  // windows of 65 535 bytes
  srv_.settings(100);
  submit_all(1);
  srv_.feed(client_out());
  srv_.respond_with(srv_.requests[0], {{":status", "200"}, {"content-length", "300000"}}, 300'000);
  for (int round = 0; round < 50 && client_->outcomes().empty(); ++round) {
    // The server's bytes in reads of at most the buffer's size.
    auto bytes = srv_.drain();
    for (std::size_t at = 0; at < bytes.size(); at += http2_session::read_size)
      to_client(bytes.substr(at, http2_session::read_size));
    srv_.feed(client_out());  // WINDOW_UPDATEs
  }
  ASSERT_EQ(client_->outcomes().size(), 1u);
  EXPECT_EQ(client_->outcomes()[0].what, stream_outcome::kind::response);
  EXPECT_GT(client_->outcomes()[0].rec.bytes_in, 300'000u);
}

TEST_F(http2_session_test, broken_responses_reset_their_stream_only) {
  with_requests_at_the_server(4);
  const auto& id = srv_.requests;
  srv_.respond_with(id[0], {{":status", "200"}, {"content-length", "10"}}, 4);  // short
  srv_.respond_with(id[1], {{":status", "2x0"}}, 0);                            // bad status
  srv_.respond_with(id[2], {{"x-no-status", "1"}}, 0);                          // none
  srv_.inform(id[3], "103");  // an informational response, then the real one
  srv_.respond_with(id[3], {{":status", "201"}, {"content-length", "5"}}, 5);
  to_client(srv_.drain());
  const auto& o = client_->outcomes();
  ASSERT_EQ(o.size(), 4u);
  EXPECT_EQ(kinds(o)[stream_outcome::kind::reset], 3);
  for (const auto& x : o) {
    if (x.what == stream_outcome::kind::response) {
      EXPECT_EQ(x.status, 201u);
    }
  }
  EXPECT_FALSE(client_->done());  // the connection goes on
  EXPECT_TRUE(client_->can_submit());
}

TEST_F(http2_session_test, a_ping_is_answered) {
  start(1);
  srv_.settings(100);
  srv_.ping();
  exchange();
  srv_.feed(client_out());
  EXPECT_EQ(srv_.ping_acks, 1);
}

// A frame as a server would write it.
std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  const std::string& payload) {
  std::string f;
  f += static_cast<char>(payload.size() >> 16);
  f += static_cast<char>(payload.size() >> 8);
  f += static_cast<char>(payload.size());
  f += static_cast<char>(type);
  f += static_cast<char>(flags);
  for (int shift = 24; shift >= 0; shift -= 8) f += static_cast<char>(stream >> shift);
  return f + payload;
}

TEST_F(http2_session_test, a_server_that_would_push_is_a_protocol_error) {
  start(1);
  submit_all(1);
  client_out();
  to_client(frame(4, 0, 0, std::string("\x00\x02\x00\x00\x00\x01", 6)));  // ENABLE_PUSH 1
  client_out();                                                           // GOAWAY
  EXPECT_TRUE(client_->done());
  EXPECT_EQ(client_->open_streams(), 1u);
}

TEST_F(http2_session_test, a_flood_of_pings_while_nothing_is_written_ends_the_connection) {
  with_requests_at_the_server(1);
  const auto pings = [&](int n) {
    std::string bytes;
    for (int i = 0; i < n; ++i) bytes += frame(6, 0, 0, std::string(8, 'p'));
    for (std::size_t at = 0; at < bytes.size(); at += http2_session::read_size)
      to_client(bytes.substr(at, http2_session::read_size));
  };
  pings(1000);  // answered at the next write: not a flood
  EXPECT_FALSE(client_->closing());
  client_out();
  pings(1000);
  EXPECT_FALSE(client_->closing());
  pings(1);  // the 1 001st since the last write
  EXPECT_TRUE(client_->closing());
  client_out();  // GOAWAY ENHANCE_YOUR_CALM
  EXPECT_TRUE(client_->done());
}

TEST_F(http2_session_test, content_on_a_204_resets_the_stream) {
  with_requests_at_the_server(1);
  to_client(frame(1, 4, 1, "\x89") + frame(0, 1, 1, "x"));  // :status 204, then DATA
  ASSERT_EQ(client_->outcomes().size(), 1u);
  EXPECT_EQ(client_->outcomes()[0].what, stream_outcome::kind::reset);
  EXPECT_FALSE(client_->done());
}

TEST_F(http2_session_test, a_bad_huffman_string_is_the_connections_error) {
  with_requests_at_the_server(1);
  // :status 200, then `server` as a literal without indexing whose coded value holds EOS.
  to_client(frame(1, 5, 1, std::string("\x88\x0f\x27\x84\xff\xff\xff\xff", 8)));
  EXPECT_TRUE(client_->outcomes().empty());
  client_out();
  EXPECT_TRUE(client_->done());
}

TEST_F(http2_session_test, a_server_allowing_no_stream_closes_the_connection) {
  start(4);
  submit_all(1);  // before the server's SETTINGS
  srv_.settings(0);
  exchange();
  EXPECT_TRUE(client_->closing());  // the connection takes nothing more: a new one is tried
  EXPECT_FALSE(client_->can_submit());
  ASSERT_EQ(client_->outcomes().size(), 1u);  // nghttp2 refused the first request
  EXPECT_EQ(client_->outcomes()[0].what, stream_outcome::kind::refused);
  EXPECT_EQ(client_->open_streams(), 0u);
  EXPECT_EQ(counters_.stream_limit, 0u);
}

}  // namespace

// h2_frame_reader against a server nobody on the project wrote: nghttp2's server session answers
// three requests with padded frames, a header block too large for one frame (CONTINUATIONs) and
// bodies over several DATA frames; its bytes, cut at random, must give back every frame, every
// header (through hpack_decoder) and every body byte. Then hand-made frames for each rule.

#include "detail/h2_frame_reader.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "detail/hpack_decoder.hpp"

namespace {

using namespace hit::http::detail;
using bytes = std::vector<std::uint8_t>;

bytes frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream, const bytes& payload) {
  const auto n = payload.size();
  bytes f{static_cast<std::uint8_t>(n >> 16),
          static_cast<std::uint8_t>(n >> 8),
          static_cast<std::uint8_t>(n),
          type,
          flags,
          static_cast<std::uint8_t>(stream >> 24),
          static_cast<std::uint8_t>(stream >> 16),
          static_cast<std::uint8_t>(stream >> 8),
          static_cast<std::uint8_t>(stream)};
  f.insert(f.end(), payload.begin(), payload.end());
  return f;
}

struct seen {
  std::uint8_t type;
  std::uint8_t flags;
  std::uint32_t stream;
  bytes payload;
  std::uint32_t padding;
};

h2_read_error feed_in_pieces(h2_frame_reader& r, const bytes& all, std::mt19937& rng,
                             std::vector<seen>& out, std::size_t max_piece) {
  std::size_t at = 0;
  while (at < all.size()) {
    const std::size_t n = std::min(all.size() - at, 1 + rng() % max_piece);
    const auto e = r.feed(std::span(all.data() + at, n), [&](const h2_frame& f) {
      out.push_back(
          {f.type, f.flags, f.stream, bytes(f.payload.begin(), f.payload.end()), f.padding});
    });
    if (e != h2_read_error::none) return e;
    at += n;
  }
  return h2_read_error::none;
}

// nghttp2's server, answering streams 1, 3 and 5.
class nghttp2_server {
 public:
  nghttp2_server() {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_select_padding_callback(
        cb, [](nghttp2_session*, const nghttp2_frame* f, std::size_t max, void*) -> ssize_t {
          // Pad every padded-capable frame by up to 40 bytes, as far as the frame allows.
          return static_cast<ssize_t>(
              std::min(max, f->hd.length + 1 + static_cast<std::size_t>(f->hd.stream_id * 7 % 40)));
        });
    nghttp2_session_server_new(&s_, cb, this);
    nghttp2_session_callbacks_del(cb);
    nghttp2_submit_settings(s_, NGHTTP2_FLAG_NONE, nullptr, 0);
  }
  ~nghttp2_server() { nghttp2_session_del(s_); }
  nghttp2_server(const nghttp2_server&) = delete;
  nghttp2_server& operator=(const nghttp2_server&) = delete;

  // The client's preface and three GETs, as a client sends them.
  void requests() {
    const std::string preface = NGHTTP2_CLIENT_MAGIC;
    bytes in(preface.begin(), preface.end());
    const auto settings = frame(4, 0, 0, {});
    in.insert(in.end(), settings.begin(), settings.end());
    const bytes block{0x82, 0x86, 0x84, 0x01, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't'};
    for (std::uint32_t id : {1u, 3u, 5u}) {
      const auto h = frame(1, h2_flag::end_stream | h2_flag::end_headers, id, block);
      in.insert(in.end(), h.begin(), h.end());
    }
    ASSERT_EQ(nghttp2_session_mem_recv(s_, in.data(), in.size()), static_cast<ssize_t>(in.size()));
  }
  void respond(std::int32_t stream, const std::vector<std::pair<std::string, std::string>>& headers,
               std::string body) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [n, v] : headers)
      nv.push_back({const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(n.data())),
                    const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(v.data())),
                    n.size(), v.size(), NGHTTP2_NV_FLAG_NONE});
    bodies_[stream] = std::move(body);
    nghttp2_data_provider p{};
    p.source.ptr = &bodies_[stream];
    p.read_callback = [](nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len,
                         std::uint32_t* flags, nghttp2_data_source* src, void*) -> ssize_t {
      auto& b = *static_cast<std::string*>(src->ptr);
      const std::size_t n = std::min(len, b.size());
      std::copy_n(b.data(), n, buf);
      b.erase(0, n);
      if (b.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    };
    ASSERT_EQ(nghttp2_submit_response(s_, stream, nv.data(), nv.size(), &p), 0);
  }
  bytes output() {
    bytes out;
    for (;;) {
      const std::uint8_t* d = nullptr;
      const auto n = nghttp2_session_mem_send(s_, &d);
      if (n <= 0) break;
      out.insert(out.end(), d, d + n);
    }
    return out;
  }

 private:
  nghttp2_session* s_ = nullptr;
  std::map<std::int32_t, std::string> bodies_;
};

TEST(h2_frame_reader, nghttp2s_frames_cut_anywhere_come_back_whole) {
  nghttp2_server server;
  server.requests();
  const std::string big(60000, 'b');  // a header block of three 16 KiB frames and more
  std::string body(60000, ' ');       // within the initial window (nobody sends WINDOW_UPDATE)
  for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>('a' + i % 26);
  server.respond(1, {{":status", "200"}, {"content-type", "text/plain"}}, "hello");
  server.respond(3, {{":status", "404"}, {"x-big", big}}, body);
  server.respond(5, {{":status", "204"}}, "");
  const bytes wire = server.output();
  // The test's premise: the bytes hold CONTINUATIONs and padded frames.
  std::size_t continuations = 0, padded = 0;
  for (std::size_t at = 0; at + 9 <= wire.size(); at += 9 + h2_length(&wire[at])) {
    continuations += wire[at + 3] == 9;
    padded += (wire[at + 3] == 0 || wire[at + 3] == 1) && (wire[at + 4] & h2_flag::padded);
  }
  ASSERT_GE(continuations, 2u);
  ASSERT_GE(padded, 3u);

  std::mt19937 rng(1);
  for (const std::size_t max_piece :
       {wire.size(), std::size_t{1}, std::size_t{7}, std::size_t{5000}}) {
    h2_frame_reader reader;
    std::vector<seen> frames;
    ASSERT_EQ(feed_in_pieces(reader, wire, rng, frames, max_piece), h2_read_error::none);
    EXPECT_FALSE(reader.pending());
    hpack_decoder hpack;
    std::map<std::uint32_t, std::vector<std::pair<std::string, std::string>>> headers;
    std::map<std::uint32_t, std::string> data;
    std::map<std::uint32_t, bool> ended;
    for (const auto& f : frames) {
      ASSERT_NE(f.type, 9) << "a CONTINUATION was passed";
      if (f.type == 1) {
        EXPECT_TRUE(f.flags & h2_flag::end_headers);
        ASSERT_EQ(hpack.decode(f.payload,
                               [&](const hpack_field& h) {
                                 std::string n, v;
                                 hpack_decoder::text(h.name, n);
                                 hpack_decoder::text(h.value, v);
                                 if (n != "date" && n != "server")
                                   headers[f.stream].emplace_back(n, v);
                               }),
                  hpack_error::none);
      }
      if (f.type == 0) data[f.stream].append(f.payload.begin(), f.payload.end());
      if ((f.type == 0 || f.type == 1) && (f.flags & h2_flag::end_stream)) ended[f.stream] = true;
    }
    using list = std::vector<std::pair<std::string, std::string>>;
    EXPECT_EQ(headers[1], (list{{":status", "200"}, {"content-type", "text/plain"}}));
    EXPECT_TRUE(headers[3] == (list{{":status", "404"}, {"x-big", big}}));
    EXPECT_EQ(headers[5], (list{{":status", "204"}}));
    EXPECT_EQ(data[1], "hello");
    EXPECT_EQ(data[3].size(), body.size());
    EXPECT_TRUE(data[3] == body);
    EXPECT_EQ(data[5], "");
    EXPECT_TRUE(ended[1] && ended[3] && ended[5]);
  }
}

TEST(h2_frame_reader, padding_and_priority_are_taken_off) {
  h2_frame_reader r;
  std::vector<seen> out;
  std::mt19937 rng(2);
  bytes all = frame(0, h2_flag::padded | h2_flag::end_stream, 1, {3, 'a', 'b', 'c', 0, 0, 0});
  const auto h = frame(1, h2_flag::padded | h2_flag::priority | h2_flag::end_headers, 3,
                       {2, 0, 0, 0, 1, 16, 0x88, 0, 0});
  all.insert(all.end(), h.begin(), h.end());
  ASSERT_EQ(feed_in_pieces(r, all, rng, out, 3), h2_read_error::none);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, (bytes{'a', 'b', 'c'}));
  EXPECT_EQ(out[0].padding, 4u);  // the pad length byte and 3 bytes: flow control counts them
  EXPECT_EQ(out[1].payload, (bytes{0x88}));
  EXPECT_EQ(out[1].stream, 3u);
}

h2_read_error feed_all(const bytes& all, std::uint32_t max_frame = 16384) {
  h2_frame_reader r(max_frame);
  return r.feed(all, [](const h2_frame&) {});
}

bytes cat(std::initializer_list<bytes> parts) {
  bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

TEST(h2_frame_reader, broken_framing_is_a_connection_error) {
  // Padding longer than the frame; a pad length byte missing.
  EXPECT_EQ(feed_all(frame(0, h2_flag::padded, 1, {5, 'a'})), h2_read_error::protocol);
  EXPECT_EQ(feed_all(frame(0, h2_flag::padded, 1, {})), h2_read_error::protocol);
  EXPECT_EQ(feed_all(frame(1, h2_flag::priority | h2_flag::end_headers, 1, {0, 0})),
            h2_read_error::protocol);
  // A frame longer than announced, known from its header alone.
  const bytes big_header{0x00, 0x40, 0x01, 0, 0, 0, 0, 0, 1};  // 16 385
  EXPECT_EQ(feed_all(big_header), h2_read_error::frame_size);
  EXPECT_EQ(feed_all(frame(0, 0, 1, bytes(101, 'x')), 100), h2_read_error::frame_size);
  // CONTINUATION alone, another frame inside a header block, a CONTINUATION of another stream.
  EXPECT_EQ(feed_all(frame(9, h2_flag::end_headers, 1, {0x88})), h2_read_error::protocol);
  EXPECT_EQ(feed_all(cat({frame(1, 0, 1, {0x88}), frame(0, 0, 1, {'a'})})),
            h2_read_error::protocol);
  EXPECT_EQ(feed_all(cat({frame(1, 0, 1, {0x88}), frame(9, h2_flag::end_headers, 3, {})})),
            h2_read_error::protocol);
  // The block's frames joined; unknown types passed through.
  h2_frame_reader r;
  std::vector<seen> out;
  ASSERT_EQ(r.feed(cat({frame(1, h2_flag::end_stream, 1, {0x88}), frame(9, 0, 1, {0x89}),
                        frame(9, h2_flag::end_headers, 1, {0x8a}), frame(0xfa, 0, 0, {1, 2})}),
                   [&](const h2_frame& f) {
                     out.push_back({f.type, f.flags, f.stream,
                                    bytes(f.payload.begin(), f.payload.end()), f.padding});
                   }),
            h2_read_error::none);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].payload, (bytes{0x88, 0x89, 0x8a}));
  EXPECT_EQ(out[0].flags, h2_flag::end_stream | h2_flag::end_headers);
  EXPECT_EQ(out[1].type, 0xfa);
}

}  // namespace

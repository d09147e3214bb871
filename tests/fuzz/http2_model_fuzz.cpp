// libFuzzer target: the client's HTTP/2 session (detail/http2_session) against nghttp2's server
// session, a peer nobody on the project wrote, both driven by the fuzzer's operations: requests
// of six kinds (GET, a POST beyond the default window, HEAD, a 5 KB header, 40 headers, a small
// PUT), partial and whole writes each way, responses (1xx first, 204, 304, bodies up to
// 200 000 bytes, trailers), resets, SETTINGS changes (table size 0-8192, initial window 0 to
// 1 MiB, frame size, stream limit 0-5), GOAWAY and shutdown notices, PINGs, windows opened only
// when the server consumes, timeouts. Checked: nghttp2 finds no protocol error in the client's
// frames (an invalid frame, a flow-control or HPACK error, a GOAWAY or RST_STREAM it did not
// expect), and every request submitted ends exactly once.
// Build and run with scripts/fuzz (clang's -fsanitize=fuzzer,address,undefined).
#include <nghttp2/nghttp2.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "detail/http2_request.hpp"
#include "detail/http2_session.hpp"

using namespace hit::http::detail;

#define CHECK(c, ...)                                \
  do {                                               \
    if (!(c)) {                                      \
      std::fprintf(stderr, "CHECK failed %s: ", #c); \
      std::fprintf(stderr, __VA_ARGS__);             \
      std::fprintf(stderr, "\n");                    \
      std::abort();                                  \
    }                                                \
  } while (0)

namespace {

const std::vector<prepared_request>& requests() {
  static const auto all = [] {
    hit::http::url u{"http", "127.0.0.1", "80", "/fuzz", "127.0.0.1"};
    std::vector<prepared_request> r(6);
    r[0].http2 = build_http2_request(u, {});
    hit::http::request_spec post;
    post.method = "POST";
    post.body = std::string(70'000, 'b');
    r[1].http2 = build_http2_request(u, post);
    hit::http::request_spec head;
    head.method = "HEAD";
    r[2].http2 = build_http2_request(u, head);
    hit::http::request_spec big;
    big.headers = {{"X-Big", std::string(5000, 'x')}, {"X-Small", "1"}};
    hit::http::url u2{"http", "127.0.0.1", "80", "/other/path/" + std::string(300, 'p'),
                      "127.0.0.1"};
    r[3].http2 = build_http2_request(u2, big);
    hit::http::request_spec many;
    for (int i = 0; i < 40; ++i)
      many.headers.push_back({"x-h" + std::to_string(i), std::string(60 + i, 'a' + i % 26)});
    r[4].http2 = build_http2_request(u, many);
    hit::http::request_spec small_post;
    small_post.method = "PUT";
    small_post.body = "hello";
    r[5].http2 = build_http2_request(u2, small_post);
    std::vector<http2_request*> p;
    for (auto& x : r) p.push_back(&x.http2);
    number_http2_fields(p);
    return r;
  }();
  return all;
}

struct server_state {
  nghttp2_session* s = nullptr;
  std::set<std::int32_t> open;                 // streams whose HEADERS arrived, not closed
  std::set<std::int32_t> answered;             // response submitted
  std::map<std::int32_t, std::size_t> bodies;  // response body left
  std::map<std::int32_t, bool> trailers;
  std::set<std::int32_t> our_rst;
  std::map<std::int32_t, std::string> method;
  std::int32_t last_seen = 0;
  std::size_t unconsumed_conn = 0;
  std::map<std::int32_t, std::size_t> unconsumed;
  bool goaway_sent = false;
};

int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* n, std::size_t nl,
              const std::uint8_t* v, std::size_t vl, std::uint8_t, void* u) {
  auto* st = static_cast<server_state*>(u);
  if (nl == 7 && std::memcmp(n, ":method", 7) == 0)
    st->method[f->hd.stream_id] = std::string((const char*)v, vl);
  return 0;
}
int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* u) {
  if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST)
    static_cast<server_state*>(u)->open.insert(f->hd.stream_id);
  // The client sends GOAWAY only on a connection error it found in the server's frames, which
  // nghttp2 does not send, or on a flood of PINGs or SETTINGS it could not answer.
  if (f->hd.type == NGHTTP2_GOAWAY)
    CHECK(f->goaway.error_code == NGHTTP2_ENHANCE_YOUR_CALM, "client sent GOAWAY error %u",
          f->goaway.error_code);
  if (f->hd.type == NGHTTP2_RST_STREAM)
    CHECK(f->rst_stream.error_code == NGHTTP2_CANCEL, "client RST_STREAM code %u stream %d",
          f->rst_stream.error_code, f->hd.stream_id);
  return 0;
}
int on_invalid(nghttp2_session*, const nghttp2_frame* f, int err, void*) {
  if (err == NGHTTP2_ERR_REFUSED_STREAM) return 0;  // above the server's stream limit
  CHECK(false, "server: invalid frame type %d stream %d: %s", f->hd.type, f->hd.stream_id,
        nghttp2_strerror(err));
  return 0;
}
int on_frame_send(nghttp2_session*, const nghttp2_frame* f, void* u) {
  auto* st = static_cast<server_state*>(u);
  if (f->hd.type == NGHTTP2_GOAWAY)
    CHECK(f->goaway.error_code == 0, "server sent GOAWAY error %u: %.*s", f->goaway.error_code,
          (int)f->goaway.opaque_data_len, (const char*)f->goaway.opaque_data);
  if (f->hd.type == NGHTTP2_RST_STREAM && !st->our_rst.count(f->hd.stream_id))
    CHECK(f->rst_stream.error_code == NGHTTP2_REFUSED_STREAM ||
              f->rst_stream.error_code == NGHTTP2_NO_ERROR,
          "server RST_STREAM %u on %d (client violation)", f->rst_stream.error_code,
          f->hd.stream_id);
  return 0;
}
int on_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* u) {
  auto* st = static_cast<server_state*>(u);
  st->open.erase(id);
  return 0;
}
int on_data(nghttp2_session*, std::uint8_t, std::int32_t id, const std::uint8_t*, std::size_t n,
            void* u) {
  auto* st = static_cast<server_state*>(u);
  st->unconsumed[id] += n;
  return 0;
}
ssize_t read_body(nghttp2_session*, std::int32_t id, std::uint8_t* buf, std::size_t length,
                  std::uint32_t* flags, nghttp2_data_source*, void* u) {
  auto* st = static_cast<server_state*>(u);
  auto& left = st->bodies[id];
  const auto n = std::min(length, left);
  std::memset(buf, 'r', n);
  left -= n;
  if (left == 0) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (st->trailers[id]) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_nv t[] = {{(std::uint8_t*)"x-trailer", (std::uint8_t*)"yes", 9, 3, 0}};
      nghttp2_submit_trailer(st->s, id, t, 1);
    }
  }
  return static_cast<ssize_t>(n);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned streams = 1 + data[0] % 8;
  const unsigned window_bits = 16 + data[1] % 3;
  data += 2;
  size -= 2;

  server_state st;
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cb, on_invalid);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_close);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_server_new2(&st.s, cb, &st, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  nghttp2_submit_settings(st.s, NGHTTP2_FLAG_NONE, nullptr, 0);

  hit::stats::http2_counters counters;
  http2_session c(requests(), streams, window_bits, counters);
  c.start();
  const auto t0 = clock::now();
  std::uint64_t submitted = 0, ended = 0, cancelled = 0, seq = 0;
  std::string pipe;  // server -> client
  bool client_dead = false;

  auto count = [&] {
    ended += c.outcomes().size();
    c.outcomes().clear();
  };
  auto to_server = [&](const void* p, std::size_t n) {
    const auto r = nghttp2_session_mem_recv(st.s, static_cast<const std::uint8_t*>(p), n);
    CHECK(r == static_cast<ssize_t>(n), "server mem_recv %zd: %s", r,
          r < 0 ? nghttp2_strerror((int)r) : "short");
  };
  auto pick = [&](const std::set<std::int32_t>& s, unsigned a) -> std::int32_t {
    if (s.empty()) return 0;
    auto it = s.begin();
    std::advance(it, a % s.size());
    return *it;
  };

  for (std::size_t i = 0; i + 1 < size && !client_dead; i += 2) {
    const unsigned op = data[i] % 14;
    const unsigned a = data[i + 1];
    switch (op) {
      case 0: {  // submit
        for (unsigned k = 0; k < 1 + a % 4 && c.can_submit(); ++k) {
          in_flight rec{
              .due = t0, .sent = t0 + std::chrono::seconds(seq++), .target = (a / 4 + k) % 6};
          if (!c.submit(rec)) break;
          ++submitted;
        }
        CHECK(c.active() <= streams, "active");
        break;
      }
      case 1: {  // client writes part
        auto b = c.output();
        count();
        if (b.size() == 0) break;
        const std::size_t m = 1 + (a * 131u) % b.size();
        to_server(b.data(), m);
        c.wrote(m);
        break;
      }
      case 2: {  // client writes all
        for (auto b = c.output(); b.size() > 0; b = c.output()) {
          to_server(b.data(), b.size());
          c.wrote(b.size());
        }
        count();
        break;
      }
      case 3: {  // server produces
        for (;;) {
          const std::uint8_t* p = nullptr;
          const auto n = nghttp2_session_mem_send(st.s, &p);
          if (n <= 0) break;
          pipe.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
        }
        break;
      }
      case 4: {  // client reads
        std::size_t n = std::min<std::size_t>(pipe.size(), 1 + a * 97);
        n = std::min(n, http2_session::read_size);
        if (n == 0) break;
        auto in = c.read_buffer();
        std::memcpy(in.data(), pipe.data(), n);
        pipe.erase(0, n);
        if (!c.received(n, clock::now())) client_dead = true;
        count();
        break;
      }
      case 5: {  // server responds
        std::set<std::int32_t> cand;
        for (auto id : st.open)
          if (!st.answered.count(id)) cand.insert(id);
        const auto id = pick(cand, a);
        if (id == 0) break;
        st.answered.insert(id);
        const bool head = st.method[id] == "HEAD";
        const unsigned kind = (a / 8) % 6;
        std::size_t body = kind == 0 ? 0 : kind == 1 ? 10 : kind == 2 ? 70000 : 200000;
        const char* status = "200";
        if (kind == 4) status = "204", body = 0;
        if (kind == 5) status = "304", body = 0;
        if (a & 0x80) {
          nghttp2_nv info[] = {{(std::uint8_t*)":status", (std::uint8_t*)"100", 7, 3, 0}};
          nghttp2_submit_headers(st.s, NGHTTP2_FLAG_NONE, id, nullptr, info, 1, nullptr);
        }
        std::string cl = std::to_string(body);
        std::vector<nghttp2_nv> nv = {
            {(std::uint8_t*)":status", (std::uint8_t*)status, 7, 3, 0},
            {(std::uint8_t*)"server", (std::uint8_t*)"nghttp2-model", 6, 13, 0},
        };
        if (kind != 4 && kind != 5)
          nv.push_back(
              {(std::uint8_t*)"content-length", (std::uint8_t*)cl.data(), 14, cl.size(), 0});
        if (head || body == 0) {
          nghttp2_submit_response(st.s, id, nv.data(), nv.size(), nullptr);
        } else {
          st.bodies[id] = body;
          st.trailers[id] = (a & 0x40) != 0;
          nghttp2_data_provider d{};
          d.read_callback = read_body;
          nghttp2_submit_response(st.s, id, nv.data(), nv.size(), &d);
        }
        break;
      }
      case 6: {  // server resets
        std::set<std::int32_t> cand;
        for (auto id : st.open)
          if (!st.answered.count(id)) cand.insert(id);
        const auto id = pick(cand, a);
        if (id) st.answered.insert(id);
        if (id == 0) break;
        static const std::uint32_t codes[] = {NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM,
                                              NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR};
        st.our_rst.insert(id);
        nghttp2_submit_rst_stream(st.s, NGHTTP2_FLAG_NONE, id, codes[a % 4]);
        break;
      }
      case 7: {  // server settings
        static const std::uint32_t tables[] = {0, 32, 64, 100, 256, 1000, 4096, 8192};
        static const std::uint32_t windows[] = {0, 1, 100, 16384, 65535, 1 << 20, 5, 70000};
        static const std::uint32_t frames[] = {16384, 20000, 1 << 20, 16384};
        std::vector<nghttp2_settings_entry> e;
        if (a & 1) e.push_back({NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, (a >> 1) % 6});
        if (a & 2) e.push_back({NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, tables[(a >> 2) % 8]});
        if (a & 4) e.push_back({NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, windows[(a >> 3) % 8]});
        if (a & 8) e.push_back({NGHTTP2_SETTINGS_MAX_FRAME_SIZE, frames[(a >> 4) % 4]});
        nghttp2_submit_settings(st.s, NGHTTP2_FLAG_NONE, e.data(), e.size());
        break;
      }
      case 8: {  // goaway
        if (a & 1)
          nghttp2_submit_shutdown_notice(st.s);
        else
          nghttp2_submit_goaway(st.s, NGHTTP2_FLAG_NONE,
                                nghttp2_session_get_last_proc_stream_id(st.s), NGHTTP2_NO_ERROR,
                                nullptr, 0);
        break;
      }
      case 9:
        nghttp2_submit_ping(st.s, NGHTTP2_FLAG_NONE, nullptr);
        break;
      case 10: {  // server consumes (opens windows)
        for (auto& [id, n] : st.unconsumed) {
          if (n == 0) continue;
          nghttp2_session_consume(st.s, id, n);
          n = 0;
        }
        break;
      }
      case 11: {  // timeout
        cancelled +=
            c.cancel_expired(t0 + std::chrono::seconds(a % 16 + (seq > 16 ? seq - 16 : 0))).size();
        break;
      }
      case 12: {  // server window update on connection
        nghttp2_submit_window_update(st.s, NGHTTP2_FLAG_NONE, 0, 1 + a * 1000);
        break;
      }
      case 13: {
        if (c.done()) client_dead = true;
        break;
      }
    }
  }
  count();
  const auto left = c.take_all().size();
  CHECK(submitted == ended + cancelled + left, "accounting %lu %lu %lu %lu", submitted, ended,
        cancelled, left);
  c.stop();
  nghttp2_session_del(st.s);
  return 0;
}

#include "detail/server_h2.hpp"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <queue>
#include <system_error>
#include <utility>

namespace hit::http::detail {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using tls_stream = asio::ssl::stream<server_socket>;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Flow-control windows we give the client: large, so that an upload never waits for a
// WINDOW_UPDATE round trip; a load generator's target has the memory.
constexpr std::uint32_t stream_window = std::uint32_t{16} << 20;
constexpr std::int32_t connection_window = std::int32_t{1} << 30;
// One write takes what nghttp2 has to send, up to about this much, so that a big body does not
// pile up in memory before the first byte leaves.
constexpr std::size_t write_batch = 64 * 1024;

server_socket& tcp_of(server_socket& s) {
  return s;
}
server_socket& tcp_of(tls_stream& s) {
  return s.next_layer();
}

nghttp2_nv header(std::string_view name, std::string_view value) {
  // NO_COPY: the names are literals, the values live in the stream or in h2_shared until the
  // HEADERS frame is encoded.
  return {const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(name.data())),
          const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(value.data())),
          name.size(), value.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE};
}

// One stream's request and response. The connection keeps them in a pool, so that a request
// allocates nothing of ours once the pool has grown to the connection's concurrency.
struct h2_stream {
  std::int32_t id = 0;
  std::string target;  // :path; keeps its capacity across uses
  bool head = false;
  bool plain = true;  // no query string: the default response
  knobs k;
  std::uint64_t size = 0;        // body bytes to send
  std::uint64_t sent = 0;        // of them, handed to nghttp2
  std::uint64_t frame_most = 0;  // chunked=1: at most this much per DATA frame; 0: no limit
  char status[4] = {};
  char length[24] = {};
  std::size_t length_size = 0;

  void reset(std::int32_t stream_id) {
    id = stream_id;
    target.clear();
    head = false;
    plain = true;
    k = knobs{};
    size = sent = frame_most = 0;
  }
};

// One HTTP/2 connection's protocol state: the nghttp2 session, its streams, and the streams
// waiting on a delay. Bytes in through receive(), out through take_output(); no I/O of its own.
// Every call on the connection's strand.
class h2_connection {
 public:
  h2_connection(const h2_shared& shared, const asio::any_io_executor& ex)
      : shared_(shared), due_timer_(ex), wake_(ex) {
    std::vector<due_item> reserved;
    reserved.reserve(64);
    due_ = decltype(due_)(later{}, std::move(reserved));
  }
  ~h2_connection() { nghttp2_session_del(session_); }
  h2_connection(const h2_connection&) = delete;
  h2_connection& operator=(const h2_connection&) = delete;

  // The session and our SETTINGS. false: out of memory.
  bool start() {
    if (nghttp2_session_server_new(&session_, callbacks(), this) != 0) return false;
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, shared_.max_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, stream_window}};
    return nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings)) ==
               0 &&
           nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                                 connection_window) == 0;
  }

  // Bytes from the client. false: a fatal error (a bad preface, no memory); a protocol error
  // is not fatal here: nghttp2 queues its GOAWAY and the session then wants neither to read nor
  // to write.
  bool receive(const char* data, std::size_t n) {
    return nghttp2_session_mem_recv(session_, reinterpret_cast<const std::uint8_t*>(data), n) >= 0;
  }

  // Appends what nghttp2 has to send, up to about write_batch bytes. false: a fatal error.
  bool take_output(std::string& out) {
    while (out.size() < write_batch) {
      const std::uint8_t* p = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &p);
      if (n < 0) return false;
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    }
    return true;
  }

  // Nothing to read or write any more: after a GOAWAY (ours, nghttp2's, or the client's) and
  // the last stream it left open.
  bool over() const {
    return nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0;
  }

  // The connection is ending: the loops stop at their next turn.
  void finish() {
    done_ = true;
    wake_.cancel();
    due_timer_.cancel();
  }
  bool done() const { return done_; }

  // Output may be waiting: wakes the write loop if it sleeps.
  void kick() { wake_.cancel(); }

  // The write loop's sleep until kick() or finish().
  asio::awaitable<void> sleep() {
    wake_.expires_at(steady::time_point::max());
    co_await wake_.async_wait(use_tuple);
  }

  // Answers the delayed streams as they fall due, until finish().
  asio::awaitable<void> due_loop() {
    while (!done_) {
      due_timer_.expires_at(due_.empty() ? steady::time_point::max() : due_.top().at);
      co_await due_timer_.async_wait(use_tuple);
      const auto now = steady::now();
      bool answered = false;
      while (!done_ && !due_.empty() && due_.top().at <= now) {
        const auto id = due_.top().id;
        due_.pop();
        // Null when the stream closed meanwhile (the client reset it).
        if (auto* st = static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session_, id)))
          respond(*st);
        answered = true;
      }
      if (answered) kick();
    }
  }

 private:
  struct due_item {
    steady::time_point at;
    std::int32_t id;
  };
  struct later {
    bool operator()(const due_item& a, const due_item& b) const { return a.at > b.at; }
  };

  static const nghttp2_session_callbacks* callbacks() {
    static const std::unique_ptr<nghttp2_session_callbacks, void (*)(nghttp2_session_callbacks*)>
        made = [] {
          nghttp2_session_callbacks* cb = nullptr;
          if (nghttp2_session_callbacks_new(&cb) != 0) throw std::bad_alloc();
          nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
          nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
          nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
          nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
          return std::unique_ptr<nghttp2_session_callbacks, void (*)(nghttp2_session_callbacks*)>(
              cb, nghttp2_session_callbacks_del);
        }();
    return made.get();
  }

  static bool is_request(const nghttp2_frame* f) {
    return f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST;
  }
  static h2_connection& self(void* user) { return *static_cast<h2_connection*>(user); }
  h2_stream* stream_of(std::int32_t id) const {
    return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session_, id));
  }

  static int on_begin_headers(nghttp2_session* s, const nghttp2_frame* f, void* user) {
    if (!is_request(f)) return 0;
    auto& c = self(user);
    h2_stream* st = c.acquire();
    st->reset(f->hd.stream_id);
    if (nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st) != 0) {
      c.free_.push_back(st);  // no such stream after all: nothing will release it
      return 0;
    }
    if (++c.streams_ == c.shared_.goaway_after) c.close_after(f->hd.stream_id);
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                       std::size_t name_size, const std::uint8_t* value, std::size_t value_size,
                       std::uint8_t, void* user) {
    if (!is_request(f)) return 0;
    h2_stream* st = self(user).stream_of(f->hd.stream_id);
    if (st == nullptr) return 0;
    const std::string_view n(reinterpret_cast<const char*>(name), name_size);
    const std::string_view v(reinterpret_cast<const char*>(value), value_size);
    if (n == ":path") {
      st->target.assign(v);
    } else if (n == ":method") {
      st->head = v == "HEAD";
    }
    return 0;
  }

  static int on_frame_recv(nghttp2_session*, const nghttp2_frame* f, void* user) {
    auto& c = self(user);
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA) return 0;
    h2_stream* st = c.stream_of(f->hd.stream_id);
    if (st == nullptr) return 0;
    if (is_request(f) && st->target.find('?') != std::string::npos) {
      st->plain = false;
      st->k = parse_knobs(st->target);
      if (st->k.close) c.close_after(st->id);
    }
    if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) c.request_done(*st);
    return 0;
  }

  static int on_stream_close(nghttp2_session* s, std::int32_t id, std::uint32_t, void* user) {
    auto& c = self(user);
    if (auto* st = static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(s, id)))
      c.free_.push_back(st);
    // The stream close=1 (or goaway_after) picked is done: its response is complete, so the
    // GOAWAY follows it on the wire.
    if (id == c.closing_ && !c.goaway_sent_) {
      c.goaway_sent_ = true;
      nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR, nullptr, 0);
    }
    return 0;
  }

  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                           std::uint32_t* flags, nghttp2_data_source* source, void* user) {
    const auto& shared = self(user).shared_;
    auto& st = *static_cast<h2_stream*>(source->ptr);
    std::uint64_t n = std::min<std::uint64_t>(length, st.size - st.sent);
    if (st.frame_most > 0) n = std::min(n, st.frame_most);
    // Usually one copy: a frame is at most 16 KiB unless the client allows more.
    const auto count = static_cast<std::size_t>(n);
    for (std::size_t done = 0; done < count;) {
      const auto phase = static_cast<std::size_t>((st.sent + done) % shared.period);
      const auto part = std::min(count - done, shared.pattern.size() - phase);
      std::memcpy(buf + done, shared.pattern.data() + phase, part);
      done += part;
    }
    st.sent += n;
    if (st.sent == st.size) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(n);
  }

  h2_stream* acquire() {
    if (free_.empty()) {
      all_.push_back(std::make_unique<h2_stream>());
      return all_.back().get();
    }
    h2_stream* st = free_.back();
    free_.pop_back();
    return st;
  }

  // After stream `id`'s response, GOAWAY with last-stream-id `id`. The lowest such stream wins.
  void close_after(std::int32_t id) {
    if (closing_ == 0 || id < closing_) closing_ = id;
  }

  // The request is in: answer now, or when its stall and delay are over.
  void request_done(h2_stream& st) {
    std::chrono::nanoseconds wait{0};
    if (shared_.stall_left) wait += shared_.stall_left();
    if (!st.plain) wait += st.k.delay;
    if (wait.count() <= 0) {
      respond(st);
      return;
    }
    const auto at = steady::now() + wait;
    due_.push({at, st.id});
    if (at < due_timer_.expiry()) due_timer_.cancel();  // due_loop re-arms for the earliest
  }

  void respond(h2_stream& st) {
    // Above the stream a GOAWAY of ours will name: left unanswered, refused by that GOAWAY.
    if (closing_ != 0 && st.id > closing_) return;
    if (st.k.reset || st.k.refuse) {
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, st.id,
                                st.k.reset ? NGHTTP2_INTERNAL_ERROR : NGHTTP2_REFUSED_STREAM);
      return;
    }
    const unsigned status = st.k.status;
    std::to_chars(st.status, st.status + 3, status);
    nghttp2_nv headers[4];
    std::size_t count = 0;
    headers[count++] = header(":status", std::string_view(st.status, 3));
    headers[count++] = header("server", "hit");
    headers[count++] = header("content-type", "text/plain");
    const bool no_body = status == 204 || status == 304 || status < 200;
    if (!no_body) {
      if (st.plain || st.k.size < 0) {
        st.size = shared_.default_size;
        if (!st.k.chunked) headers[count++] = header("content-length", shared_.default_size_text);
      } else {
        st.size = static_cast<std::uint64_t>(st.k.size);
        if (!st.k.chunked) {
          const auto r = std::to_chars(st.length, st.length + sizeof st.length, st.size);
          headers[count++] = header("content-length", std::string_view(st.length, r.ptr));
        }
      }
    }
    if (no_body || st.head || st.size == 0) {
      nghttp2_submit_response(session_, st.id, headers, count, nullptr);
      return;
    }
    // chunked=1: two DATA frames for the body (more when a half is over the frame size).
    st.frame_most = st.k.chunked ? (st.size + 1) / 2 : 0;
    nghttp2_data_provider body{};
    body.source.ptr = &st;
    body.read_callback = read_body;
    nghttp2_submit_response(session_, st.id, headers, count, &body);
  }

  const h2_shared& shared_;
  nghttp2_session* session_ = nullptr;
  std::vector<std::unique_ptr<h2_stream>> all_;  // every stream object this connection made
  std::vector<h2_stream*> free_;                 // of them, those no open stream holds
  std::priority_queue<due_item, std::vector<due_item>, later> due_;  // delayed, earliest first
  asio::steady_timer due_timer_;  // fires when due_'s earliest is due
  asio::steady_timer wake_;       // the write loop sleeps on it; kick() cancels it
  std::uint32_t streams_ = 0;     // streams the client opened, for goaway_after
  std::int32_t closing_ = 0;      // the stream after which we send GOAWAY; 0: none
  bool goaway_sent_ = false;
  bool done_ = false;
};

template <class Stream>
asio::awaitable<void> read_loop(Stream& stream, h2_connection& c, std::vector<char>& buf) {
  while (!c.done()) {
    auto [ec, n] = co_await stream.async_read_some(asio::buffer(buf), use_tuple);
    if (ec || c.done() || !c.receive(buf.data(), n)) break;
    c.kick();
  }
  c.finish();
}

// The only writer: one write per turn of what nghttp2 has ready, then sleep until there is more.
// Sets `polite` when the session is over (GOAWAY) rather than broken.
template <class Stream>
asio::awaitable<void> write_loop(Stream& stream, h2_connection& c, bool& polite) {
  std::string out;  // grows to the connection's largest turn (at most a batch and a frame)
  while (!c.done()) {
    out.clear();
    if (!c.take_output(out)) break;
    if (!out.empty()) {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(out), use_tuple);
      if (ec) break;
      continue;
    }
    if (c.over()) {
      polite = true;
      break;
    }
    co_await c.sleep();
  }
  c.finish();
  // The read loop waits for bytes that need not come: end its read.
  boost::system::error_code ignored;
  tcp_of(stream).cancel(ignored);
}

template <class Stream>
asio::awaitable<bool> serve(Stream& stream, const h2_shared& shared, std::vector<char>& buf,
                            std::size_t received) {
  h2_connection c(shared, stream.get_executor());
  if (!c.start()) co_return false;
  if (received > 0 && !c.receive(buf.data(), received)) co_return false;
  bool polite = false;
  co_await (read_loop(stream, c, buf) && write_loop(stream, c, polite) && c.due_loop());
  co_return polite;
}

}  // namespace

asio::awaitable<bool> serve_h2(server_socket& stream, const h2_shared& shared,
                               std::vector<char>& buf, std::size_t received) {
  return serve(stream, shared, buf, received);
}

asio::awaitable<bool> serve_h2(tls_stream& stream, const h2_shared& shared, std::vector<char>& buf,
                               std::size_t received) {
  return serve(stream, shared, buf, received);
}

}  // namespace hit::http::detail

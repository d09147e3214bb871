#pragma once
// http2_session: the client's HTTP/2 (RFC 9113) on one connection, many requests in flight at
// once, each on a stream. It frames and parses; the connection under it does the I/O, the
// deadlines and the accounting:
//
//   start()                          a new connection: the preface and SETTINGS are queued
//   can_submit() / submit(rec)       a request on a new stream, while a stream is free
//   output() / wrote(n)              the frames to send, gathered into one buffer per write
//   read_buffer() / received(n, now) bytes from the server; ended streams become outcomes
//   outcomes()                       responses, resets and refusals, for the connection to count
//   cancel_expired(deadline)         streams sent before `deadline` are reset (RST_STREAM CANCEL)
//   take_all()                       the connection is lost: the streams still open, handed back
//
// Streams are limited to `streams`, and to the server's SETTINGS_MAX_CONCURRENT_STREAMS; until
// the server's first SETTINGS arrives, to one. Responses are counted, not stored: a stream
// keeps its status and its byte count.
//
// What it reads of a response: `:status`, `content-length` (checked against the DATA that
// follows), END_STREAM. Every header block is HPACK-decoded (hpack_decoder keeps the table the
// server's encoder expects) but the other fields' values are not decoded to text nor checked
// character by character. A request's header fields are prepared once per target; each HEADERS
// frame sends those already in the server's table as indexes (hpack_indexer), and the very
// first request, which goes before the server's SETTINGS, as literals that do not enter it. Why not
// nghttp2, which hit used here before (and still uses for `hit serve`): it decodes, copies and
// validates every field of every response and encodes every request again, 10 500 of the 11 800
// instructions a request cost against nginx; docs/performance.md has the measurements.
//
// Errors, as RFC 9113 5.4 has them:
//   - a connection error (a frame that breaks the framing, HPACK, flow control or the stream
//     rules; a server that does not speak HTTP/2) queues GOAWAY; once it is out, done() is true
//     with the open streams unanswered, and no more input is read.
//   - a stream error (a response without a valid :status, a pseudo-header other than :status,
//     DATA before the response's HEADERS, a content-length its DATA does not match, content on
//     a response to HEAD or with 204 or 304, trailers without END_STREAM) resets that stream
//     (RST_STREAM PROTOCOL_ERROR): outcome `reset`.
// A response the server ends before this side has sent its request's whole body ends the stream
// (RST_STREAM CANCEL): the rest of the body is not sent.
//
// Memory per connection (~43 KiB with 10 streams, docs/performance.md): the 16 KiB read
// buffer, the server's HPACK table as decoded (~10 KiB at 4 096 bytes) and as encoded (a ring
// of 2 KiB, a number per indexed field), the output buffers (grown to the largest burst of
// frames), one slot per stream. Nothing is allocated per request once they have grown.
//
// Thread safety: none; the owning loop's thread only.

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "detail/h2_frame_reader.hpp"
#include "detail/hpack_decoder.hpp"
#include "detail/http1_session.hpp"  // in_flight, clock
#include "detail/prepared_request.hpp"
#include "hit/stats/summary.hpp"

namespace hit::http::detail {

struct stream_outcome {
  enum class kind : std::uint8_t {
    response,  // a complete response: status, bytes
    reset,     // the server reset the stream (RST_STREAM other than REFUSED_STREAM), or the
               // response broke the protocol (this side reset it)
    refused,   // not processed by the server (REFUSED_STREAM, or above a GOAWAY's last stream)
  };
  kind what = kind::response;
  in_flight rec;
  unsigned status = 0;
  std::uint32_t error_code = 0;  // reset: the RST_STREAM's code
};

// RFC 9113 7: the error codes this side sends or tells apart.
namespace h2_error {
constexpr std::uint32_t no_error = 0x0;
constexpr std::uint32_t protocol = 0x1;
constexpr std::uint32_t flow_control = 0x3;
constexpr std::uint32_t frame_size = 0x6;
constexpr std::uint32_t refused_stream = 0x7;
constexpr std::uint32_t cancel = 0x8;
constexpr std::uint32_t compression = 0x9;
constexpr std::uint32_t enhance_your_calm = 0xb;
}  // namespace h2_error

class http2_session {
 public:
  static constexpr std::size_t read_size = 16384;

  // `requests`: the run's, outliving the session; a submitted record names one. `streams`: the
  // most this client opens at once (--streams). `window_bits`: stream and connection receive
  // windows of 2^bits - 1. `counters`: the loop's HTTP/2 counters (header bytes, streams).
  http2_session(const std::vector<prepared_request>& requests, unsigned streams,
                unsigned window_bits, stats::http2_counters& counters);
  http2_session(const http2_session&) = delete;
  http2_session& operator=(const http2_session&) = delete;

  // A new connection: the preface, SETTINGS and the connection's window queued.
  void start();
  // The connection is gone: the session ends (call take_all() first for the open streams).
  void stop() noexcept;
  [[nodiscard]] bool live() const noexcept { return live_; }

  // A stream is free and the connection may start one (no GOAWAY, stream ids left).
  [[nodiscard]] bool can_submit() const noexcept { return live_ && active_ < limit_ && !closing(); }
  // Starts `rec` on a new stream (its HEADERS queued). False when the connection can take no
  // more streams (stream ids used up): the caller keeps the request.
  bool submit(const in_flight& rec);
  [[nodiscard]] unsigned active() const noexcept { return active_; }
  // Half the streams or more are free (or the limit is 1 or 2, where any free one is half).
  // (A server's SETTINGS may lower the limit below the streams open: none is free then.)
  [[nodiscard]] bool half_free() const noexcept {
    return active_ <= limit_ && 2 * (limit_ - active_) >= limit_;
  }
  // Streams whose request still waits for its end (a timed-out stream is released at once).
  [[nodiscard]] unsigned open_streams() const noexcept { return active_; }
  // The connection takes no new stream: GOAWAY, stream ids used up, a stream timed out, a
  // connection error, or a server that allows no stream at all (SETTINGS_MAX_CONCURRENT_STREAMS
  // 0: the connection closes once its streams end, and a new one is tried).
  [[nodiscard]] bool closing() const noexcept {
    return goaway_ || exhausted_ || expired_ || failed_ || limit_ == 0;
  }
  // The server sent GOAWAY: no new streams; the open ones finish or are refused.
  [[nodiscard]] bool going_away() const noexcept { return goaway_; }
  // Neither side has anything more to say, and all is written: after a GOAWAY once every
  // stream ended, or after a connection error (then with streams that will never end).
  [[nodiscard]] bool done() const noexcept {
    return !live_ ||
           ((failed_ || (goaway_ && active_ == 0)) && out_sent_ == out_.size() && next_.empty());
  }

  // Frames to send (empty: nothing): what was queued since the last call, then request bodies
  // as the flow-control windows allow. Call only with no write pending: the buffer returned
  // stays valid until wrote().
  boost::asio::const_buffer output();
  void wrote(std::size_t n) noexcept;

  [[nodiscard]] boost::asio::mutable_buffer read_buffer() noexcept {
    return {in_.data(), in_.size()};
  }
  // `n` bytes arrived at `now`. False only when the session is not live. A connection error
  // in the bytes is not reported here: see the errors above.
  bool received(std::size_t n, clock::time_point now);

  [[nodiscard]] std::vector<stream_outcome>& outcomes() noexcept { return outcomes_; }

  // Resets every stream sent before `deadline` (RST_STREAM CANCEL) and returns their records
  // (valid until the next call here): they have timed out; their end is not reported as an
  // outcome, and their streams are free at once.
  std::vector<in_flight>& cancel_expired(clock::time_point deadline);
  // The connection is lost: the records of the streams still open, which the session forgets.
  std::vector<in_flight>& take_all();

 private:
  static constexpr std::uint64_t unknown = ~std::uint64_t{0};
  struct slot {
    in_flight rec;
    std::uint64_t body_sent = 0;
    std::uint64_t content_length = unknown;  // the response's, when it has one
    std::uint64_t data = 0;                  // the response's DATA so far
    std::int64_t send_window = 0;            // the server's window for this stream
    std::int64_t recv_window = 0;            // this side's, as the server sees it
    std::uint32_t stream_id = 0;
    unsigned status = 0;  // the final status, once its HEADERS came
    bool used = false;
    bool body_queued = false;  // in bodies_: DATA left to send
    bool head = false;         // a HEAD request: no body expected whatever content-length says
  };

  // One frame's header into `out`.
  static void frame_header(std::vector<std::uint8_t>& out, std::size_t length, std::uint8_t type,
                           std::uint8_t flags, std::uint32_t stream);
  void handle(const h2_frame& f);
  void on_data(const h2_frame& f);
  void on_headers(const h2_frame& f);
  void on_settings(const h2_frame& f);
  void on_window_update(const h2_frame& f);
  void on_goaway(const h2_frame& f);
  void on_rst_stream(const h2_frame& f);
  // A frame for a stream this side never opened (an even id, or one not yet used) is a
  // connection error; a closed stream's is ignored. Null for both.
  slot* find(std::uint32_t stream_id);
  slot* stream_of(const h2_frame& f);
  void fail(std::uint32_t error_code);            // connection error: GOAWAY, done
  void reset(slot& s, std::uint32_t error_code);  // stream error: outcome reset
  void finish(slot& s);                           // END_STREAM: a response, or a reset
  void end(slot& s, stream_outcome::kind what, std::uint32_t code = 0);  // outcome, release
  void release(slot& s) noexcept;
  // A response that has no content whatever its content-length says: to HEAD, 204, 304.
  static bool no_content(const slot& s) noexcept {
    return s.head || s.status == 204 || s.status == 304;
  }
  void queue_rst(std::uint32_t stream, std::uint32_t code);
  void queue_window_update(std::uint32_t stream, std::uint32_t increment);
  void send_bodies();
  // Frames of `stream` ids above `last` taken out of next_ (a GOAWAY refused them).
  void unqueue_above(std::uint32_t last);
  // The value of a field as text (into scratch_ when it is Huffman-coded); false: bad coding.
  bool value_text(const hpack_string& s, std::string_view& out);

  const std::vector<prepared_request>& requests_;
  std::uint32_t window_;  // this side's receive windows, stream and connection: 2^bits - 1
  stats::http2_counters& counters_;
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;    // indexes of unused slots
  std::vector<std::uint32_t> index_;   // slot of a stream id, by (id / 2) & mask (checked)
  std::vector<std::uint32_t> bodies_;  // slots with DATA left to send, in order
  unsigned limit_ =
      1;  // min(--streams, which is slots_.size(), the server's limit); 1 until SETTINGS
  unsigned active_ = 0;  // slots in use
  bool live_ = false;
  bool settings_seen_ = false;  // the server's preface (its first SETTINGS) came
  bool goaway_ = false;
  bool exhausted_ = false;  // stream ids used up
  bool expired_ = false;    // a stream timed out (cancel_expired)
  bool failed_ = false;     // a connection error: GOAWAY queued, no more input read
  unsigned acks_ = 0;       // SETTINGS and PING acknowledgements queued since the last output()
  std::uint32_t next_id_ = 1;
  std::uint32_t goaway_last_ = 0;
  std::int64_t conn_send_window_ = 65535;  // the server's connection window
  std::int64_t conn_recv_window_ = 65535;  // this side's, as the server sees it
  std::int64_t peer_initial_window_ = 65535;
  std::uint64_t peer_max_streams_ = 1;  // SETTINGS_MAX_CONCURRENT_STREAMS
  std::uint32_t peer_max_frame_ = 16384;
  clock::time_point now_{};
  h2_frame_reader reader_;
  hpack_decoder decoder_;
  hpack_indexer encoder_;            // once the server's SETTINGS came (its table size known)
  std::vector<std::uint8_t> block_;  // a request's header block, encoded by encoder_
  std::string scratch_;
  std::vector<std::uint8_t> out_;  // the write in progress; [out_sent_, size) left
  std::size_t out_sent_ = 0;
  std::vector<std::uint8_t> next_;  // frames queued while a write may be pending
  std::vector<std::uint8_t> in_;
  std::vector<stream_outcome> outcomes_;
  std::vector<in_flight> taken_;
};

}  // namespace hit::http::detail

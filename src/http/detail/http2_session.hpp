#pragma once
// http2_session: HTTP/2 on one connection, many requests in flight at once, each on a stream.
// nghttp2 frames and parses (a client session driven through its memory interface, as h2load
// does); the connection under it does the I/O, the deadlines and the accounting:
//
//   start()                          a new connection: the preface and SETTINGS are queued
//   can_submit() / submit(rec)       a request on a new stream, while a stream is free
//   output() / wrote(n)              the frames to send, gathered into one buffer per write
//   read_buffer() / received(n, now) bytes from the server; ended streams become outcomes
//   outcomes() / clear_outcomes()    responses, resets and refusals, for the connection to count
//   cancel_expired(deadline)         streams sent before `deadline` are reset (RST_STREAM CANCEL)
//   take_all()                       the connection is lost: the streams still open, handed back
//
// Streams are limited to `streams`, and to the server's SETTINGS_MAX_CONCURRENT_STREAMS; until
// the server's first SETTINGS arrives, to one. Responses are counted, not stored: a stream
// keeps its status and its byte count. Memory: one record per stream slot, a 16 KiB read
// buffer and an output buffer that grows to the largest burst of frames; nghttp2 allocates its
// own stream objects (one per request).
//
// Thread safety: none; the owning loop's thread only.

#include <nghttp2/nghttp2.h>

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <vector>

#include "detail/http1_session.hpp"  // in_flight, clock
#include "detail/prepared_request.hpp"
#include "detail/session_memory.hpp"
#include "hit/stats/summary.hpp"

namespace hit::http::detail {

struct stream_outcome {
  enum class kind : std::uint8_t {
    response,  // a complete response: status, bytes
    reset,     // the server reset the stream (RST_STREAM other than REFUSED_STREAM)
    refused,   // not processed by the server (REFUSED_STREAM, or above a GOAWAY's last stream)
  };
  kind what = kind::response;
  in_flight rec;
  unsigned status = 0;
  std::uint32_t error_code = 0;  // reset: the RST_STREAM's code
};

class http2_session {
 public:
  static constexpr std::size_t read_size = 16384;

  // `requests`: the run's, outliving the session; a submitted record names one. `streams`: the
  // most this client opens at once (--streams). `window_bits`: stream and connection receive
  // windows of 2^bits - 1. `counters`: the loop's HTTP/2 counters (header bytes, streams).
  http2_session(const std::vector<prepared_request>& requests, unsigned streams,
                unsigned window_bits, stats::http2_counters& counters);
  ~http2_session();
  http2_session(const http2_session&) = delete;
  http2_session& operator=(const http2_session&) = delete;

  // A new connection: a fresh nghttp2 session with the preface and SETTINGS queued. Throws
  // std::bad_alloc when nghttp2 cannot allocate.
  void start();
  // The connection is gone: the session ends (call take_all() first for the open streams).
  void stop() noexcept;
  [[nodiscard]] bool live() const noexcept { return session_ != nullptr; }

  // A stream is free and the connection may start one (no GOAWAY, stream ids left).
  [[nodiscard]] bool can_submit() const noexcept;
  // Starts `rec` on a new stream. False when nghttp2 refused it (the connection can take no
  // more streams): the caller keeps the request.
  bool submit(const in_flight& rec);
  [[nodiscard]] unsigned active() const noexcept { return active_; }
  // Half the streams or more are free (or the limit is 1 or 2, where any free one is half).
  // (A server's SETTINGS may lower the limit below the streams open: none is free then.)
  [[nodiscard]] bool half_free() const noexcept {
    return active_ <= limit_ && 2 * (limit_ - active_) >= limit_;
  }
  // Streams whose request still waits for its end (not cancelled).
  [[nodiscard]] unsigned open_streams() const noexcept { return active_ - cancelled_; }
  // The connection takes no new stream: GOAWAY, stream ids used up, or a stream timed out.
  [[nodiscard]] bool closing() const noexcept { return goaway_ || exhausted_ || expired_; }
  // The server sent GOAWAY: no new streams; the open ones finish or are refused.
  [[nodiscard]] bool going_away() const noexcept { return goaway_; }
  // Neither side has anything more to say: after a GOAWAY once every stream ended, or after a
  // connection error (then with streams that will never end).
  [[nodiscard]] bool done() const noexcept;

  // Frames to send, gathered from nghttp2 (empty: nothing). Call only with no write pending:
  // the buffer returned stays valid until wrote().
  boost::asio::const_buffer output();
  void wrote(std::size_t n) noexcept;

  [[nodiscard]] boost::asio::mutable_buffer read_buffer() noexcept {
    return {in_.data(), in_.size()};
  }
  // `n` bytes arrived at `now`. False when nghttp2 failed outright. A connection error in the
  // bytes (not HTTP/2, a bad frame) is not reported here: nghttp2 queues a GOAWAY, and once it
  // is out (output()) the session is done() with streams still open.
  bool received(std::size_t n, clock::time_point now);

  [[nodiscard]] std::vector<stream_outcome>& outcomes() noexcept { return outcomes_; }

  // Resets every stream sent before `deadline` (RST_STREAM CANCEL) and returns their records
  // (valid until the next call here): they have timed out; their end is not reported as an
  // outcome.
  std::vector<in_flight>& cancel_expired(clock::time_point deadline);
  // The connection is lost: the records of the streams still open (not cancelled), which the
  // session forgets.
  std::vector<in_flight>& take_all();

 private:
  struct slot {
    in_flight rec;
    std::uint64_t body_sent = 0;
    std::int32_t stream_id = 0;
    unsigned status = 0;
    bool answered = false;  // the server ended its side of the stream (END_STREAM)
    bool used = false;
    bool cancelled = false;
  };
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_header(nghttp2_session*, const nghttp2_frame*, const std::uint8_t*, std::size_t,
                       const std::uint8_t*, std::size_t, std::uint8_t, void*);
  static int on_frame_recv(nghttp2_session*, const nghttp2_frame*, void*);
  static int on_frame_not_send(nghttp2_session*, const nghttp2_frame*, int, void*);
  static int on_stream_close(nghttp2_session*, std::int32_t, std::uint32_t, void*);
  static ssize_t read_body(nghttp2_session*, std::int32_t, std::uint8_t*, std::size_t,
                           std::uint32_t*, nghttp2_data_source*, void*);
  slot* slot_of(std::int32_t stream_id) const noexcept;
  void release(slot& s) noexcept;
  void refuse(slot& s);

  const std::vector<prepared_request>& requests_;
  unsigned window_bits_;
  stats::http2_counters& counters_;
  session_memory memory_;  // before session_: nghttp2 frees into it when the session ends
  nghttp2_session_callbacks* callbacks_ = nullptr;
  nghttp2_option* options_ = nullptr;
  nghttp2_session* session_ = nullptr;
  std::vector<slot> slots_;
  std::vector<std::uint32_t> free_;  // indexes of unused slots
  unsigned limit_ =
      1;  // min(--streams, which is slots_.size(), the server's limit); 1 until SETTINGS
  unsigned active_ = 0;     // slots in use (sent, not yet closed)
  unsigned cancelled_ = 0;  // of which reset by cancel_expired
  bool goaway_ = false;
  bool exhausted_ = false;  // nghttp2 refused a new stream (stream ids used up)
  bool expired_ = false;    // a stream timed out (cancel_expired)
  clock::time_point now_{};
  std::vector<std::uint8_t> out_;  // frames gathered for the next write; [out_sent_, size) left
  std::size_t out_sent_ = 0;
  std::vector<std::uint8_t> in_;
  std::vector<stream_outcome> outcomes_;
  std::vector<in_flight> taken_;
};

}  // namespace hit::http::detail

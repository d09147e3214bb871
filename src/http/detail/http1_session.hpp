#pragma once
// http1_session: HTTP/1.1 on one connection: the request's bytes out, the response's bytes in,
// one request in flight at a time (its in_flight record). It knows bytes and requests; the
// connection under it knows the transport, deadlines, retries and accounting, and drives it:
//
//   assign(rec)                     a request is given to the connection: its record
//   begin()                         it is (re)sent: fresh write and parse state
//   write_buffers() / wrote(n)      until all_written()
//   read_buffer() / received(n)     until it says done or error (parse() for bytes already in)
//   eof()                           the stream ended: a response framed by the close completes
//
// The buffer holds received bytes not yet parsed; a response header must fit in it whole. It
// starts small (most responses' headers and small bodies fit in 2 KiB) and grows once, for the
// connection's life, to the largest header: when a header does not fit, or when a read fills
// it (a large body, read in fewer calls). Thousands of connections to a small-response service
// so keep 2 KiB each, not 8.
//
// Thread safety: none; the owning loop's thread only.

#include <array>
#include <boost/asio/buffer.hpp>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "detail/prepared_request.hpp"
#include "hit/http/response_parser.hpp"

namespace hit::http::detail {

using clock = std::chrono::steady_clock;

// One request on its way: what the connection's accounting needs once it ends.
struct in_flight {
  clock::time_point due{};         // intended start (the schedule's time under a rate)
  clock::time_point sent{};        // first byte written
  clock::time_point first_byte{};  // first response byte read (clock::time_point{}: none yet)
  std::uint64_t bytes_in = 0;      // response bytes read
  // Already resent once on a fresh connection (HTTP/1.1 one at a time, HTTP/2; a pipelined
  // request is resent as often as connections are lost in front of it).
  bool retried = false;
  // HTTP/2, a refused request: it is resent only on a connection opened after the refusal,
  // the loop's connection number `refused_at` or later.
  std::uint64_t refused_at = 0;
  std::uint32_t target = 0;  // which of the run's requests (run_plan::requests)
  std::uint64_t seq = 0;     // its number in the run ({{seq}}; unique across loops and shards)
};

class http1_session {
 public:
  static constexpr std::size_t buffer_size = 8192;  // the largest response header (wrk: 8 KiB)
  static constexpr std::size_t initial_buffer_size = 2048;  // until a response needs more

  // `requests`: the run's, outliving the session; the in-flight record names one. `used`: false
  // when the connection will never speak HTTP/1.1 (--h2): no buffer is allocated, and only the
  // in-flight record is used.
  explicit http1_session(const std::vector<prepared_request>& requests, bool used = true);

  // A request for this connection.
  void assign(const in_flight& rec) noexcept {
    current_ = rec;
    const auto& bytes = requests_[rec.target].http1;
    head_bytes_ = bytes.head;
    body_bytes_ = bytes.body;
  }
  // Its bytes are these instead (a templated request: `rendered` by the connection into a
  // buffer of its own, then the template's fixed body; both outlive the request).
  void use(std::string_view rendered, std::string_view body) noexcept {
    head_bytes_ = rendered;
    body_bytes_ = body;
  }
  // It is sent (or resent): writing starts over, and so does the response. The buffer is
  // empty (a connection with leftover bytes was closed).
  void begin() {
    current_.first_byte = {};
    current_.bytes_in = 0;
    written_ = 0;
    parser_.reset(requests_[current_.target].head);
  }
  [[nodiscard]] in_flight& current() noexcept { return current_; }
  [[nodiscard]] const in_flight& current() const noexcept { return current_; }

  // Writing: what is left of the request, as one or two buffers (head, body).
  [[nodiscard]] std::array<boost::asio::const_buffer, 2> write_buffers() const noexcept;
  void wrote(std::size_t n) noexcept { written_ += n; }
  [[nodiscard]] bool all_written() const noexcept {
    return written_ == head_bytes_.size() + body_bytes_.size();
  }

  // Reading: where the next bytes go, and what they completed.
  [[nodiscard]] boost::asio::mutable_buffer read_buffer() noexcept {
    return {buffer_.data() + buffered_, buffer_.size() - buffered_};
  }
  parse_status received(std::size_t n) {
    current_.bytes_in += n;
    const bool filled = buffered_ + n == buffer_.size();
    buffered_ += n;
    if (filled) grow();  // more is likely waiting: read it in fewer calls from now on
    return parse();
  }
  // Parses the bytes held; need_more with room to read more, error for a header too large.
  parse_status parse();
  // The stream ended: done for a response framed by the close, error for a partial one,
  // need_more when no response byte came at all.
  parse_status eof();

  // After done: the response.
  [[nodiscard]] unsigned status() const noexcept { return parser_.status(); }
  [[nodiscard]] bool keep_alive() const noexcept { return parser_.keep_alive(); }
  // Bytes beyond the response, which no request asked for.
  [[nodiscard]] bool leftover() const noexcept { return buffered_ > 0; }
  // The connection closed: drop what it held.
  void reset() noexcept { buffered_ = 0; }
  // The buffer's size now (initial_buffer_size, or buffer_size once grown).
  [[nodiscard]] std::size_t capacity() const noexcept { return buffer_.size(); }

 private:
  // To buffer_size, once; the bytes held are kept.
  void grow() {
    if (buffer_.size() < buffer_size) buffer_.resize(buffer_size);
  }

  std::string_view head_bytes_, body_bytes_;  // the current request's (assign, use)
  const std::vector<prepared_request>& requests_;
  response_parser parser_;
  std::vector<char> buffer_;  // received bytes; [0, buffered_) are not parsed yet
  std::size_t buffered_ = 0;
  std::size_t written_ = 0;
  in_flight current_;
};

}  // namespace hit::http::detail

#pragma once
// http1_pipeline: HTTP/1.1 pipelining on one connection (--pipeline N): up to N requests in
// flight, written back to back without waiting for answers, their responses read in the same
// order (RFC 9112 9.3.2). A ring of in-flight records, oldest first; the connection under it
// (connection_pipeline.cpp) knows the transport, deadlines and accounting, and drives it:
//
//   push(rec)                          a request joins the back (its bytes rendered if templated)
//   stage(now) / output() / wrote(n)   bytes of the requests not yet written go out, in order
//   read_buffer() / received(n)        bytes come in; parse() completes the oldest's response
//   pop()                              the oldest is answered and leaves the ring
//   take_front()                       the connection is lost: its records leave one by one
//
// Output is staged: the requests' bytes are copied into one buffer and written with one send
// (over TLS one SSL_write: OpenSSL writes one buffer per call), so N small requests cost one
// syscall, not N. Received bytes are parsed in place; what is left of a buffer is moved to its
// front only before the next read, not after every response.
//
// Thread safety: none; the owning loop's thread only.

#include <boost/asio/buffer.hpp>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "detail/http1_session.hpp"
#include "detail/prepared_request.hpp"
#include "hit/http/response_parser.hpp"

namespace hit::http::detail {

class http1_pipeline {
 public:
  static constexpr std::size_t buffer_size = http1_session::buffer_size;  // largest header
  static constexpr std::size_t stage_size = 16 * 1024;                    // bytes per write

  // `requests`: the run's, outliving the pipeline. `depth`: the most requests in flight (>= 1).
  // `template_size`: the most bytes a templated request renders to (0: none is templated), for
  // one rendering buffer per place in the ring.
  http1_pipeline(const std::vector<prepared_request>& requests, std::size_t depth,
                 std::size_t template_size);

  [[nodiscard]] std::size_t size() const noexcept { return count_; }
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] bool full() const noexcept { return count_ == ring_.size(); }

  // A request joins the back. Precondition: !full(). `random`: the loop's template state.
  void push(const in_flight& rec, std::uint64_t& random);
  // The oldest request in flight. Precondition: !empty().
  [[nodiscard]] in_flight& front() noexcept { return ring_[head_].rec; }
  // It was written whole (a server may answer before it read all of a request).
  [[nodiscard]] bool front_written() const noexcept { return ring_[head_].end <= written_; }
  // Answered: it leaves the ring, and the parser turns to the next.
  void pop() noexcept;
  // The connection is lost: the oldest record leaves (the caller counts or resends it). Once
  // the ring is empty, the output starts over.
  in_flight take_front() noexcept;

  // Writing. Whether bytes are left to write; staging copies the next of them into the output
  // buffer (when it is empty) and stamps each request whose first byte goes out with `now`:
  // its `sent`, and its `due` unless it has one (it was sent before, on a lost connection).
  [[nodiscard]] bool unwritten() const noexcept { return written_ < end_; }
  void stage(clock::time_point now) noexcept;
  [[nodiscard]] boost::asio::const_buffer output() const noexcept {
    return {stage_.get() + out_begin_, out_end_ - out_begin_};
  }
  void wrote(std::size_t n) noexcept {
    out_begin_ += n;
    written_ += n;
  }

  // Reading: where the next bytes go (held bytes are moved to the front first).
  [[nodiscard]] boost::asio::mutable_buffer read_buffer() noexcept;
  void received(std::size_t n) noexcept { end_in_ += n; }
  // Parses the held bytes as the oldest request's response: done (status() and keep_alive()
  // describe it; pop() it), need_more, or error (malformed, or a header larger than the buffer).
  // Precondition: !empty().
  parse_status parse();
  // The stream ended: done for the oldest's response framed by the close, error for a partial
  // one (some of its bytes came, parsed or not), need_more when none came.
  parse_status eof();
  [[nodiscard]] unsigned status() const noexcept { return parser_.status(); }
  [[nodiscard]] bool keep_alive() const noexcept { return parser_.keep_alive(); }
  // Received bytes not parsed yet.
  [[nodiscard]] bool buffered() const noexcept { return end_in_ > begin_in_; }
  // The connection closed: drop the bytes held either way (the records stay).
  void reset() noexcept;

 private:
  struct entry {
    in_flight rec;
    std::string_view head, body;  // its bytes (prepared, or rendered into its buffer)
    std::uint64_t end = 0;        // the output stream's position after its last byte
  };
  [[nodiscard]] std::size_t index(std::size_t i) const noexcept {
    const auto at = head_ + i;
    return at < ring_.size() ? at : at - ring_.size();
  }

  const std::vector<prepared_request>& requests_;
  std::vector<entry> ring_;
  std::size_t head_ = 0, count_ = 0;
  std::unique_ptr<char[]> rendered_;  // depth x template_size_
  std::size_t template_size_;
  // Output: positions in the stream of the ring's requests' bytes since the ring was last empty.
  std::uint64_t end_ = 0;      // after the last pushed request's bytes
  std::uint64_t copied_ = 0;   // staged so far
  std::uint64_t written_ = 0;  // written so far
  std::size_t copying_ = 0;    // the ring place (from the front) of the request being staged
  std::unique_ptr<char[]> stage_;
  std::size_t out_begin_ = 0, out_end_ = 0;
  // Input.
  response_parser parser_;
  bool parsing_ = false;  // the parser was reset for the front's response
  std::vector<char> in_;
  std::size_t begin_in_ = 0, end_in_ = 0;  // [begin_in_, end_in_) received and not parsed
};

}  // namespace hit::http::detail

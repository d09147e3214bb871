#pragma once
// response_parser: an allocation-free HTTP/1.1 response parser that keeps only what a load
// generator needs (status, keep-alive, byte counts) and drops the body as it streams past.
//
// It is Beast's basic_parser with counting callbacks: Beast handles the grammar (chunked
// bodies, Content-Length 0, bodies ended by EOF, 1xx/204/304 without a body, HEAD), this class
// hands it bytes. Measured against Debian's libhttp-parser in bench/http_bench.cpp: 109 ns vs
// 265 ns per small response (docs/performance.md), so Beast was kept.
//
// Contract: feed() the bytes received so far, in order. The header must be presented whole
// in one contiguous buffer: when feed() returns need_more having consumed nothing, keep the
// unconsumed bytes and present them again with what arrives next. Interim 1xx responses
// (other than 101) are skipped: the parser carries on to the final response.
//
// Thread safety: none; one per connection.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace hit::http {

enum class parse_status {
  need_more,  // the response is not complete yet: feed more bytes (or feed_eof)
  done,       // a complete response was parsed; status() etc. describe it
  error,      // the bytes are not a valid HTTP/1.1 response
};

class response_parser {
 public:
  // `header_limit`: the largest header accepted, in bytes.
  explicit response_parser(std::size_t header_limit = 8192);
  ~response_parser();
  response_parser(response_parser&&) noexcept;
  response_parser& operator=(response_parser&&) noexcept;

  // Prepares for the next response. `head_request`: the response has no body whatever its
  // header says (RFC 9110 9.3.2).
  void reset(bool head_request);

  // Parses from `data`; sets `consumed` to how many bytes were used.
  parse_status feed(std::string_view data, std::size_t& consumed);
  // The peer closed the connection: completes a body delimited by EOF, or reports an error.
  parse_status feed_eof();

  [[nodiscard]] unsigned status() const noexcept;
  [[nodiscard]] bool keep_alive() const noexcept;
  [[nodiscard]] std::uint64_t body_bytes() const noexcept;
  // True when the header has been parsed (so some response arrived).
  [[nodiscard]] bool got_header() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace hit::http

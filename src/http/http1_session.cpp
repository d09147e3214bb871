#include "detail/http1_session.hpp"

#include <cstring>

namespace hit::http::detail {

http1_session::http1_session(const std::vector<prepared_request>& requests, bool used)
    : requests_(requests), parser_(buffer_size), buffer_(used ? initial_buffer_size : 0) {}

std::array<boost::asio::const_buffer, 2> http1_session::write_buffers() const noexcept {
  const auto head = head_bytes_, body = body_bytes_;
  if (written_ < head.size())
    return {boost::asio::buffer(head.data() + written_, head.size() - written_),
            boost::asio::buffer(body.data(), body.size())};
  const std::size_t at = written_ - head.size();
  return {boost::asio::buffer(body.data() + at, body.size() - at), boost::asio::const_buffer{}};
}

parse_status http1_session::parse() {
  if (buffered_ == 0) return parse_status::need_more;
  std::size_t used = 0;
  const auto st = parser_.feed({buffer_.data(), buffered_}, used);
  if (used > 0) {
    buffered_ -= used;
    if (buffered_ > 0) std::memmove(buffer_.data(), buffer_.data() + used, buffered_);
  }
  // A full buffer is always the grown one: received() grows the small one when a read fills it.
  if (st == parse_status::need_more && buffered_ == buffer_.size()) return parse_status::error;
  return st;
}

parse_status http1_session::eof() {
  if (parser_.feed_eof() == parse_status::done) return parse_status::done;
  if (parser_.got_header()) return parse_status::error;
  return parse_status::need_more;
}

}  // namespace hit::http::detail

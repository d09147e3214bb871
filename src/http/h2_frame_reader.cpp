#include "detail/h2_frame_reader.hpp"

namespace hit::http::detail {

h2_read_error h2_frame_reader::unpad(const std::uint8_t* header,
                                     std::span<const std::uint8_t>& payload,
                                     std::uint32_t& padding) const {
  const auto type = static_cast<h2_frame_type>(header[3]);
  const std::uint8_t flags = header[4];
  std::size_t head = 0;  // the pad length byte, and HEADERS' priority fields
  std::size_t tail = 0;  // the padding
  if ((type == h2_frame_type::data || type == h2_frame_type::headers ||
       type == h2_frame_type::push_promise) &&
      (flags & h2_flag::padded)) {
    if (payload.empty()) return h2_read_error::protocol;
    tail = payload[0];
    head = 1;
  }
  if (type == h2_frame_type::headers && (flags & h2_flag::priority)) head += 5;
  if (head + tail > payload.size()) return h2_read_error::protocol;
  padding = static_cast<std::uint32_t>(head + tail);
  payload = payload.subspan(head, payload.size() - head - tail);
  return h2_read_error::none;
}

}  // namespace hit::http::detail

#pragma once
// h2_frame_reader: cuts the bytes a server sends on an HTTP/2 connection into frames (RFC 9113
// 4.1), for a client: HEADERS (and PUSH_PROMISE) are joined with their CONTINUATIONs into one
// header block, padding and the priority fields are taken off, and a frame's length is checked
// against the limit this side announced. What a frame means is the caller's business.
//
// Frames whole in the bytes given are passed without copying; one cut by the end of a read is
// kept (up to a frame) and completed by the next. A header block in several frames is gathered
// in a buffer that grows to the largest block seen (at most max_block).
//
// Thread safety: none; one reader per connection, on its loop's thread.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace hit::http::detail {

// The frame types of RFC 9113 6.
enum class h2_frame_type : std::uint8_t {
  data = 0,
  headers = 1,
  priority = 2,
  rst_stream = 3,
  settings = 4,
  push_promise = 5,
  ping = 6,
  goaway = 7,
  window_update = 8,
  continuation = 9,
};

namespace h2_flag {
constexpr std::uint8_t end_stream = 0x1;
constexpr std::uint8_t ack = 0x1;
constexpr std::uint8_t end_headers = 0x4;
constexpr std::uint8_t padded = 0x8;
constexpr std::uint8_t priority = 0x20;
}  // namespace h2_flag

struct h2_frame {
  std::uint8_t type = 0;  // an h2_frame_type, or another (unknown types are passed: ignore them)
  std::uint8_t flags = 0;
  std::uint32_t stream = 0;
  // DATA: the data without padding. HEADERS: the whole header block (END_HEADERS is set on the
  // frame passed, CONTINUATIONs are not passed). PUSH_PROMISE: the promised stream id (4 bytes)
  // then the block. Others: the payload as sent. Valid until the callback returns.
  std::span<const std::uint8_t> payload;
  std::uint32_t padding = 0;  // bytes taken off the payload (DATA: they count for flow control)
};

// A connection error (RFC 9113 5.4.1): the reader is unusable after one.
enum class h2_read_error : std::uint8_t {
  none,
  frame_size,  // longer than the announced SETTINGS_MAX_FRAME_SIZE (FRAME_SIZE_ERROR)
  protocol,    // padding longer than the frame, a CONTINUATION out of place or another frame
               // inside a header block, a header block beyond max_block (PROTOCOL_ERROR)
};

class h2_frame_reader {
 public:
  static constexpr std::size_t header_size = 9;
  static constexpr std::size_t max_block = 1 << 20;
  static constexpr std::size_t keep_block = 64 * 1024;  // kept across connections

  // `max_frame_size`: the SETTINGS_MAX_FRAME_SIZE this side announced (16 384 by default).
  explicit h2_frame_reader(std::uint32_t max_frame_size = 16384) : max_frame_(max_frame_size) {}

  // Reads `bytes`, calling `on_frame(const h2_frame&)` for each frame completed. Stops at the
  // first error. Bytes after an incomplete frame are kept for the next call.
  template <class F>
  h2_read_error feed(std::span<const std::uint8_t> bytes, F&& on_frame);

  // A new connection's reader (its buffers kept).
  void reset() noexcept {
    partial_.clear();
    block_.clear();
    if (block_.capacity() > keep_block) block_.shrink_to_fit();  // (a huge block once)
    in_block_ = false;
  }

  // A frame is cut (bytes kept), or a header block is open.
  [[nodiscard]] bool pending() const noexcept { return !partial_.empty() || in_block_; }

 private:
  // One whole frame at p (header + payload): checked, unpadded, passed or gathered.
  template <class F>
  h2_read_error frame(const std::uint8_t* p, F& on_frame);
  // The frame's payload without padding (and HEADERS' priority), or an error.
  h2_read_error unpad(const std::uint8_t* header, std::span<const std::uint8_t>& payload,
                      std::uint32_t& padding) const;

  std::uint32_t max_frame_;
  std::vector<std::uint8_t> partial_;  // a frame cut by the end of a read
  bool in_block_ = false;              // a HEADERS/PUSH_PROMISE without END_HEADERS was read
  h2_frame block_frame_;               // its type, flags and stream
  std::vector<std::uint8_t> block_;    // the block gathered so far
};

inline std::uint32_t h2_length(const std::uint8_t* h) {
  return (std::uint32_t{h[0]} << 16) | (std::uint32_t{h[1]} << 8) | h[2];
}
// A 32-bit big-endian number; a stream id or window increment (the top bit reserved).
inline std::uint32_t h2_u32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         p[3];
}
inline std::uint32_t h2_u31(const std::uint8_t* p) {
  return h2_u32(p) & 0x7fffffffu;
}

template <class F>
h2_read_error h2_frame_reader::frame(const std::uint8_t* p, F& on_frame) {
  const std::uint32_t length = h2_length(p);
  h2_frame f;
  f.type = p[3];
  f.flags = p[4];
  f.stream = h2_u31(p + 5);
  std::span<const std::uint8_t> payload{p + header_size, length};
  if (in_block_) {  // only the block's CONTINUATIONs may come now
    if (f.type != static_cast<std::uint8_t>(h2_frame_type::continuation) ||
        f.stream != block_frame_.stream)
      return h2_read_error::protocol;
    if (block_.size() + length > max_block) return h2_read_error::protocol;
    block_.insert(block_.end(), payload.begin(), payload.end());
    if (!(f.flags & h2_flag::end_headers)) return h2_read_error::none;
    in_block_ = false;
    h2_frame whole = block_frame_;
    whole.flags |= h2_flag::end_headers;
    whole.payload = block_;
    on_frame(static_cast<const h2_frame&>(whole));
    return h2_read_error::none;
  }
  if (f.type == static_cast<std::uint8_t>(h2_frame_type::continuation))
    return h2_read_error::protocol;
  if (const auto e = unpad(p, payload, f.padding); e != h2_read_error::none) return e;
  f.payload = payload;
  const bool block = f.type == static_cast<std::uint8_t>(h2_frame_type::headers) ||
                     f.type == static_cast<std::uint8_t>(h2_frame_type::push_promise);
  if (block && !(f.flags & h2_flag::end_headers)) {
    in_block_ = true;
    block_frame_ = f;
    block_.assign(payload.begin(), payload.end());
    return h2_read_error::none;
  }
  on_frame(static_cast<const h2_frame&>(f));
  return h2_read_error::none;
}

template <class F>
h2_read_error h2_frame_reader::feed(std::span<const std::uint8_t> bytes, F&& on_frame) {
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* const end = p + bytes.size();
  const auto left = [&] { return static_cast<std::size_t>(end - p); };
  if (!partial_.empty()) {  // complete the cut frame first
    if (partial_.size() < header_size) {
      const auto take = std::min(header_size - partial_.size(), left());
      partial_.insert(partial_.end(), p, p + take);
      p += take;
      if (partial_.size() < header_size) return h2_read_error::none;
    }
    const std::uint32_t length = h2_length(partial_.data());
    if (length > max_frame_) return h2_read_error::frame_size;
    const std::size_t missing = header_size + length - partial_.size();
    const auto take = std::min(missing, left());
    partial_.insert(partial_.end(), p, p + take);
    p += take;
    if (take < missing) return h2_read_error::none;
    const auto e = frame(partial_.data(), on_frame);
    partial_.clear();
    if (e != h2_read_error::none) return e;
  }
  while (p < end) {
    if (left() >= header_size) {
      const std::uint32_t length = h2_length(p);
      if (length > max_frame_) return h2_read_error::frame_size;
      if (left() >= header_size + length) {
        if (const auto e = frame(p, on_frame); e != h2_read_error::none) return e;
        p += header_size + length;
        continue;
      }
    }
    partial_.assign(p, end);  // (reserved once: a frame at most)
    break;
  }
  return h2_read_error::none;
}

}  // namespace hit::http::detail

// The client's HTTP/2 on one connection. See detail/http2_session.hpp.

#include "detail/http2_session.hpp"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cstring>
#include <string_view>

namespace hit::http::detail {
namespace {

// Request bodies gathered per write: past this, the rest waits for the next write.
constexpr std::size_t output_batch = 64 * 1024;
constexpr std::string_view client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr std::int64_t max_window = 0x7fffffff;
constexpr std::uint32_t last_stream_id = 0x7fffffff;
constexpr std::uint32_t default_window = 65535;
// SETTINGS and PING acknowledgements queued while nothing is written (a server flooding them at
// a connection whose writes are blocked): past this, a connection error, as nghttp2 does.
constexpr unsigned max_acks = 1000;
// The longest `:status` or `content-length` value read (as sent, Huffman-coded or not): a
// status is 3 digits, a length at most 19.
constexpr std::size_t max_number_raw = 24;
// Names read as text when they are not the static table's: `:status`, `content-length`, any
// other starting with ':' (a pseudo-header, refused). Longer ones are regular fields.
constexpr std::size_t max_name_raw = 32;

// RFC 9113 6.5.2.
namespace setting {
constexpr std::uint16_t header_table_size = 0x1;
constexpr std::uint16_t enable_push = 0x2;
constexpr std::uint16_t max_concurrent_streams = 0x3;
constexpr std::uint16_t initial_window_size = 0x4;
constexpr std::uint16_t max_frame_size = 0x5;
}  // namespace setting

constexpr std::uint8_t type_of(h2_frame_type t) {
  return static_cast<std::uint8_t>(t);
}

void put16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  put16(out, static_cast<std::uint16_t>(v >> 16));
  put16(out, static_cast<std::uint16_t>(v));
}
// A decimal number of at most `most` digits (nothing else: no sign, no space), or false.
bool digits(std::string_view s, std::size_t most, std::uint64_t& out) {
  if (s.empty() || s.size() > most || s[0] < '0' || s[0] > '9') return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size();
}

// The static table's entries whose name is `:status` (RFC 7541 Appendix A: 8-14) and
// `content-length` (28); 1-7 are the request's pseudo-headers.
constexpr unsigned status_first = 8;
constexpr unsigned status_last = 14;
constexpr unsigned content_length_index = 28;
constexpr unsigned no_static_index = 1000;  // a regular field whose name is not looked at

}  // namespace

http2_session::http2_session(const std::vector<prepared_request>& requests, unsigned streams,
                             unsigned window_bits, stats::http2_counters& counters)
    : requests_(requests),
      window_(static_cast<std::uint32_t>((std::uint64_t{1} << window_bits) - 1)),
      counters_(counters),
      slots_(std::max(1u, streams)),
      index_(std::bit_ceil(2 * slots_.size())),
      encoder_(requests.empty() ? 0 : requests.front().http2.fields_in_run),
      in_(read_size) {
  free_.reserve(slots_.size());
  for (std::size_t i = slots_.size(); i > 0; --i)
    free_.push_back(static_cast<std::uint32_t>(i - 1));
  bodies_.reserve(slots_.size());
  outcomes_.reserve(slots_.size());
  taken_.reserve(slots_.size());
  out_.reserve(4096);
  next_.reserve(4096);
  scratch_.reserve(64);
  block_.reserve(256);
}

void http2_session::frame_header(std::vector<std::uint8_t>& out, std::size_t length,
                                 std::uint8_t type, std::uint8_t flags, std::uint32_t stream) {
  out.push_back(static_cast<std::uint8_t>(length >> 16));
  out.push_back(static_cast<std::uint8_t>(length >> 8));
  out.push_back(static_cast<std::uint8_t>(length));
  out.push_back(type);
  out.push_back(flags);
  put32(out, stream);
}

void http2_session::start() {
  stop();
  live_ = true;
  settings_seen_ = goaway_ = exhausted_ = expired_ = failed_ = false;
  acks_ = 0;
  next_id_ = 1;
  goaway_last_ = last_stream_id;
  conn_send_window_ = default_window;
  conn_recv_window_ = window_;  // with the WINDOW_UPDATE below
  peer_initial_window_ = default_window;
  peer_max_frame_ = 16384;
  peer_max_streams_ = 1;  // RFC 9113 has no limit until SETTINGS; one, not to flood a server
  limit_ = 1;
  reader_.reset();
  decoder_.reset();
  encoder_.reset();
  next_.insert(next_.end(), client_preface.begin(), client_preface.end());
  frame_header(next_, 12, type_of(h2_frame_type::settings), 0, 0);
  put16(next_, setting::enable_push);
  put32(next_, 0);
  put16(next_, setting::initial_window_size);
  put32(next_, window_);
  if (window_ > default_window) queue_window_update(0, window_ - default_window);
  ++counters_.connections;
}

void http2_session::stop() noexcept {
  if (!live_) return;
  live_ = false;
  for (auto& s : slots_)
    if (s.used) release(s);
  out_.clear();
  out_sent_ = 0;
  next_.clear();
}

bool http2_session::submit(const in_flight& rec) {
  if (next_id_ > last_stream_id) {
    exhausted_ = true;
    return false;
  }
  const auto& request = requests_[rec.target].http2;
  const std::uint32_t i = free_.back();
  free_.pop_back();
  slot& s = slots_[i];
  s = slot{.rec = rec,
           .send_window = peer_initial_window_,
           .recv_window = window_,
           .stream_id = next_id_,
           .used = true,
           .head = request.head};
  next_id_ += 2;
  if (next_id_ > last_stream_id) exhausted_ = true;
  index_[(s.stream_id >> 1) & (index_.size() - 1)] = i;
  // The fields: indexes into the server's table once its size is known (its SETTINGS came),
  // literals that stay out of it before.
  std::span<const std::uint8_t> block = request.block;
  if (settings_seen_ && request.fields_in_run != 0) {
    block_.clear();
    encoder_.encode(request.refs, request.literals, block_);
    block = block_;
  }
  // HEADERS, and CONTINUATIONs when the block is larger than a frame may be.
  const bool body = !request.body.empty();
  std::size_t at = 0;
  bool first = true;
  do {
    const std::size_t n = std::min<std::size_t>(block.size() - at, peer_max_frame_);
    std::uint8_t flags = at + n == block.size() ? h2_flag::end_headers : 0;
    if (first && !body) flags |= h2_flag::end_stream;
    frame_header(next_, n, type_of(first ? h2_frame_type::headers : h2_frame_type::continuation),
                 flags, s.stream_id);
    next_.insert(next_.end(), block.begin() + static_cast<std::ptrdiff_t>(at),
                 block.begin() + static_cast<std::ptrdiff_t>(at + n));
    at += n;
    first = false;
  } while (at < block.size());
  if (body) {
    s.body_queued = true;
    bodies_.push_back(i);
  }
  ++active_;
  counters_.peak_streams = std::max<std::uint64_t>(counters_.peak_streams, active_);
  return true;
}

boost::asio::const_buffer http2_session::output() {
  acks_ = 0;
  if (live_ && !failed_ && !bodies_.empty()) send_bodies();
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    out_.swap(next_);
  } else if (!next_.empty()) {
    out_.insert(out_.end(), next_.begin(), next_.end());
    next_.clear();
  }
  return {out_.data() + out_sent_, out_.size() - out_sent_};
}

void http2_session::wrote(std::size_t n) noexcept {
  out_sent_ += n;
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
}

// DATA for the bodies left, as the server's windows allow, one stream's after another's.
void http2_session::send_bodies() {
  const std::size_t waiting = out_.size() - out_sent_ + next_.size();
  if (waiting >= output_batch) return;  // (a slow reader: the bodies wait)
  std::size_t budget = output_batch - waiting;
  for (std::size_t j = 0; j < bodies_.size() && conn_send_window_ > 0 && budget > 0;) {
    slot& s = slots_[bodies_[j]];
    const auto& body = requests_[s.rec.target].http2.body;
    while (s.body_sent < body.size()) {
      const auto n =
          std::min<std::int64_t>({conn_send_window_, s.send_window, std::int64_t{peer_max_frame_},
                                  static_cast<std::int64_t>(body.size() - s.body_sent),
                                  static_cast<std::int64_t>(budget)});
      if (n <= 0) break;
      const auto size = static_cast<std::size_t>(n);
      const bool last = s.body_sent + size == body.size();
      frame_header(next_, size, type_of(h2_frame_type::data), last ? h2_flag::end_stream : 0,
                   s.stream_id);
      const auto* p = reinterpret_cast<const std::uint8_t*>(body.data()) + s.body_sent;
      next_.insert(next_.end(), p, p + size);
      s.body_sent += size;
      conn_send_window_ -= n;
      s.send_window -= n;
      budget -= size;
    }
    if (s.body_sent == body.size()) {
      s.body_queued = false;
      bodies_.erase(bodies_.begin() + static_cast<std::ptrdiff_t>(j));
    } else {
      ++j;
    }
  }
}

bool http2_session::received(std::size_t n, clock::time_point now) {
  if (!live_) return false;
  if (failed_) return true;  // reads no more
  now_ = now;
  const auto e = reader_.feed({in_.data(), n}, [this](const h2_frame& f) {
    if (!failed_) handle(f);
  });
  if (e == h2_read_error::frame_size) fail(h2_error::frame_size);
  if (e == h2_read_error::protocol) fail(h2_error::protocol);
  // The connection's window given back once half of it is used (the streams': on_data).
  if (!failed_ && window_ - conn_recv_window_ >= window_ / 2) {
    queue_window_update(0, static_cast<std::uint32_t>(window_ - conn_recv_window_));
    conn_recv_window_ = window_;
  }
  return true;
}

void http2_session::handle(const h2_frame& f) {
  // The server's preface is a SETTINGS frame (RFC 9113 3.4): anything else is not HTTP/2.
  if (!settings_seen_ &&
      (f.type != type_of(h2_frame_type::settings) || (f.flags & h2_flag::ack) != 0))
    return fail(h2_error::protocol);
  switch (static_cast<h2_frame_type>(f.type)) {
    case h2_frame_type::data:
      return on_data(f);
    case h2_frame_type::headers:
      return on_headers(f);
    case h2_frame_type::priority:
      if (f.stream == 0) return fail(h2_error::protocol);
      if (f.payload.size() != 5)
        fail(h2_error::frame_size);  // (a stream error made the connection's)
      return;                        // (deprecated: nothing to do for a client)
    case h2_frame_type::rst_stream:
      return on_rst_stream(f);
    case h2_frame_type::settings:
      return on_settings(f);
    case h2_frame_type::push_promise:
      return fail(h2_error::protocol);  // push is off (SETTINGS_ENABLE_PUSH 0)
    case h2_frame_type::ping:
      if (f.stream != 0) return fail(h2_error::protocol);
      if (f.payload.size() != 8) return fail(h2_error::frame_size);
      if ((f.flags & h2_flag::ack) == 0) {
        if (++acks_ > max_acks) return fail(h2_error::enhance_your_calm);
        frame_header(next_, 8, type_of(h2_frame_type::ping), h2_flag::ack, 0);
        next_.insert(next_.end(), f.payload.begin(), f.payload.end());
      }
      return;
    case h2_frame_type::goaway:
      return on_goaway(f);
    case h2_frame_type::window_update:
      return on_window_update(f);
    default:
      return;  // an unknown type is ignored (RFC 9113 4.1); CONTINUATION is the reader's
  }
}

http2_session::slot* http2_session::find(std::uint32_t stream_id) {
  slot& hint = slots_[index_[(stream_id >> 1) & (index_.size() - 1)]];
  if (hint.used && hint.stream_id == stream_id) return &hint;
  // (A stream outlived by twice the slots of newer ones: its index entry was taken.)
  for (auto& s : slots_)
    if (s.used && s.stream_id == stream_id) return &s;
  return nullptr;
}

http2_session::slot* http2_session::stream_of(const h2_frame& f) {
  if (f.stream == 0 || (f.stream & 1) == 0 || f.stream >= next_id_) {
    fail(h2_error::protocol);  // a stream this side never opened
    return nullptr;
  }
  return find(f.stream);
}

void http2_session::on_data(const h2_frame& f) {
  slot* s = stream_of(f);
  if (failed_) return;
  const auto length = static_cast<std::int64_t>(f.payload.size() + f.padding);
  conn_recv_window_ -= length;
  if (conn_recv_window_ < 0) return fail(h2_error::flow_control);
  if (s == nullptr) return;  // a closed stream's: counted in the connection's window only
  s->recv_window -= length;
  s->rec.bytes_in += h2_frame_reader::header_size + static_cast<std::uint64_t>(length);
  if (s->recv_window < 0) return reset(*s, h2_error::flow_control);
  if (s->status == 0) return reset(*s, h2_error::protocol);  // DATA before the response
  s->data += f.payload.size();
  if (s->data > 0 && no_content(*s)) return reset(*s, h2_error::protocol);
  if (s->content_length != unknown && s->data > s->content_length)
    return reset(*s, h2_error::protocol);
  if ((f.flags & h2_flag::end_stream) != 0) return finish(*s);
  if (window_ - s->recv_window >= window_ / 2) {
    queue_window_update(s->stream_id, static_cast<std::uint32_t>(window_ - s->recv_window));
    s->recv_window = window_;
  }
}

bool http2_session::value_text(const hpack_string& s, std::string_view& out) {
  if (!s.huffman) {
    out = {reinterpret_cast<const char*>(s.raw.data()), s.raw.size()};
    return true;
  }
  scratch_.clear();
  if (!hpack_decoder::text(s, scratch_)) return false;
  out = scratch_;
  return true;
}

// A header block: decoded whatever its stream (the table must follow the server's), read for
// an open stream: the response's HEADERS (after 1xx ones, if any), or its trailers.
void http2_session::on_headers(const h2_frame& f) {
  slot* s = stream_of(f);
  if (failed_) return;
  counters_.header_bytes_wire += f.payload.size();
  const bool trailers = s != nullptr && s->status != 0;
  std::uint64_t status = 0;
  std::uint64_t length = unknown;
  bool has_status = false;
  bool regular = false;  // a field other than a pseudo-header came (they must come first)
  bool bad = false;
  bool bad_coding = false;  // a Huffman string that does not decode: the connection's error
  const auto e = decoder_.decode(f.payload, [&](const hpack_field& h) {
    const auto name_size =
        h.name.size != hpack_string::npos ? h.name.size : hpack_decoder::measure(h.name);
    const auto value_size =
        h.value.size != hpack_string::npos ? h.value.size : hpack_decoder::measure(h.value);
    if (name_size == hpack_string::npos || value_size == hpack_string::npos) {
      bad_coding = true;
      return;
    }
    counters_.header_bytes_decoded += name_size + value_size;
    if (s == nullptr || bad || bad_coding) return;
    // Which field: by the static table's index of its name, or by its name's text.
    unsigned which = h.static_index;
    // (A name longer than any read here is a regular field's: not decoded.)
    if (which == 0 && h.name.raw.size() > max_name_raw) which = no_static_index;
    if (which == 0) {
      std::string_view name;
      if (!value_text(h.name, name)) {
        bad = true;
        return;
      }
      if (name == ":status") {
        which = status_first;
      } else if (name == "content-length") {
        which = content_length_index;
      } else if (!name.empty() && name[0] == ':') {
        bad = true;  // no other pseudo-header is a response's
        return;
      }
    }
    if (which >= status_first && which <= status_last) {
      std::string_view v;
      bad = trailers || has_status || regular || h.value.raw.size() > max_number_raw ||
            !value_text(h.value, v) || !digits(v, 3, status) || v.size() != 3;
      has_status = true;
    } else if (which < status_first && which != 0) {
      bad = true;  // a request's pseudo-header
    } else {
      regular = true;
      if (which != content_length_index) return;
      std::string_view v;
      std::uint64_t n = 0;
      if (h.value.raw.size() > max_number_raw || !value_text(h.value, v) || !digits(v, 19, n) ||
          (length != unknown && length != n)) {
        bad = true;
        return;
      }
      length = n;
    }
  });
  if (e != hpack_error::none || bad_coding) return fail(h2_error::compression);
  if (s == nullptr) return;  // a closed stream's
  if (s->rec.first_byte == clock::time_point{}) s->rec.first_byte = now_;
  s->rec.bytes_in += h2_frame_reader::header_size + f.payload.size();
  if (bad) return reset(*s, h2_error::protocol);
  const bool end = (f.flags & h2_flag::end_stream) != 0;
  if (trailers) return end ? finish(*s) : reset(*s, h2_error::protocol);
  if (!has_status) return reset(*s, h2_error::protocol);
  if (status < 200) {  // informational: the response follows (101 is not HTTP/2's)
    if (status < 100 || status == 101 || end) reset(*s, h2_error::protocol);
    return;
  }
  s->status = static_cast<unsigned>(status);
  s->content_length = length;
  if (end) finish(*s);
}

void http2_session::on_rst_stream(const h2_frame& f) {
  slot* s = stream_of(f);
  if (failed_) return;
  if (f.payload.size() != 4) return fail(h2_error::frame_size);
  if (s == nullptr) return;
  const std::uint32_t code = h2_u32(f.payload.data());
  end(*s,
      code == h2_error::refused_stream ? stream_outcome::kind::refused
                                       : stream_outcome::kind::reset,
      code);
}

void http2_session::on_settings(const h2_frame& f) {
  if (f.stream != 0) return fail(h2_error::protocol);
  if ((f.flags & h2_flag::ack) != 0) {
    if (!f.payload.empty()) fail(h2_error::frame_size);
    return;
  }
  if (f.payload.size() % 6 != 0) return fail(h2_error::frame_size);
  if (!settings_seen_) {
    settings_seen_ = true;
    peer_max_streams_ = ~std::uint64_t{0};  // none given: no limit
  }
  for (std::size_t at = 0; at < f.payload.size(); at += 6) {
    const std::uint8_t* p = f.payload.data() + at;
    const auto id = static_cast<std::uint16_t>((p[0] << 8) | p[1]);
    const std::uint32_t v = h2_u32(p + 2);
    switch (id) {
      case setting::header_table_size:
        encoder_.limit(v);
        break;
      case setting::enable_push:
        if (v != 0) return fail(h2_error::protocol);  // a server may not push (RFC 9113 6.5.2)
        break;
      case setting::max_concurrent_streams:
        peer_max_streams_ = v;
        break;
      case setting::initial_window_size: {
        if (v > max_window) return fail(h2_error::flow_control);
        const std::int64_t delta = std::int64_t{v} - peer_initial_window_;
        peer_initial_window_ = v;
        for (auto& s : slots_) {
          if (!s.used) continue;
          s.send_window += delta;
          if (s.send_window > max_window) return fail(h2_error::flow_control);
        }
        break;
      }
      case setting::max_frame_size:
        if (v < 16384 || v > 16777215) return fail(h2_error::protocol);
        peer_max_frame_ = v;
        break;
      default:
        break;  // the others do not concern this client; unknown ones are ignored
    }
  }
  limit_ = static_cast<unsigned>(std::min<std::uint64_t>(slots_.size(), peer_max_streams_));
  auto& low = counters_.stream_limit;
  if (low == 0 || limit_ < low) low = limit_;
  if (++acks_ > max_acks) return fail(h2_error::enhance_your_calm);
  frame_header(next_, 0, type_of(h2_frame_type::settings), h2_flag::ack, 0);
}

void http2_session::on_window_update(const h2_frame& f) {
  if (f.payload.size() != 4) return fail(h2_error::frame_size);
  const std::uint32_t increment = h2_u31(f.payload.data());
  if (f.stream == 0) {
    if (increment == 0) return fail(h2_error::protocol);
    conn_send_window_ += increment;
    if (conn_send_window_ > max_window) fail(h2_error::flow_control);
    return;
  }
  slot* s = stream_of(f);
  if (failed_ || s == nullptr) return;
  if (increment == 0) return reset(*s, h2_error::protocol);
  s->send_window += increment;
  if (s->send_window > max_window) reset(*s, h2_error::flow_control);
}

// No new streams; the open ones above the last stream id were not processed: refused.
void http2_session::on_goaway(const h2_frame& f) {
  if (f.stream != 0) return fail(h2_error::protocol);
  if (f.payload.size() < 8) return fail(h2_error::frame_size);
  const std::uint32_t last = h2_u31(f.payload.data());
  goaway_ = true;
  ++counters_.goaways;
  goaway_last_ = std::min(goaway_last_, last);
  for (auto& s : slots_)
    if (s.used && s.stream_id > goaway_last_) end(s, stream_outcome::kind::refused);
  unqueue_above(goaway_last_);
}

void http2_session::unqueue_above(std::uint32_t last) {
  std::size_t at = 0;
  if (next_.size() >= client_preface.size() &&
      std::memcmp(next_.data(), client_preface.data(), client_preface.size()) == 0)
    at = client_preface.size();  // (no frame's first byte is 'P': it would be 5 MiB long)
  std::size_t kept = at;
  while (at + h2_frame_reader::header_size <= next_.size()) {
    const std::size_t size = h2_frame_reader::header_size + h2_length(next_.data() + at);
    const std::uint32_t stream = h2_u31(next_.data() + at + 5);
    if (stream <= last) {
      std::memmove(next_.data() + kept, next_.data() + at, size);
      kept += size;
    }
    at += size;
  }
  next_.resize(kept);
}

void http2_session::finish(slot& s) {
  if (s.content_length != unknown && !no_content(s) && s.data != s.content_length)
    return reset(s, h2_error::protocol);
  // The server answered before this side sent the whole body: the rest is not sent.
  if (s.body_queued) queue_rst(s.stream_id, h2_error::cancel);
  end(s, stream_outcome::kind::response);
}

void http2_session::reset(slot& s, std::uint32_t error_code) {
  queue_rst(s.stream_id, error_code);
  end(s, stream_outcome::kind::reset, error_code);
}

void http2_session::end(slot& s, stream_outcome::kind what, std::uint32_t code) {
  outcomes_.push_back({.what = what, .rec = s.rec, .status = s.status, .error_code = code});
  release(s);
}

void http2_session::release(slot& s) noexcept {
  const auto i = static_cast<std::uint32_t>(&s - slots_.data());
  if (s.body_queued) bodies_.erase(std::find(bodies_.begin(), bodies_.end(), i));
  s.used = false;
  s.body_queued = false;
  free_.push_back(i);
  --active_;
}

void http2_session::fail(std::uint32_t error_code) {
  if (failed_) return;
  failed_ = true;
  frame_header(next_, 8, type_of(h2_frame_type::goaway), 0, 0);
  put32(next_, 0);  // the last stream the server opened: none (push is off)
  put32(next_, error_code);
}

void http2_session::queue_rst(std::uint32_t stream, std::uint32_t code) {
  frame_header(next_, 4, type_of(h2_frame_type::rst_stream), 0, stream);
  put32(next_, code);
}

void http2_session::queue_window_update(std::uint32_t stream, std::uint32_t increment) {
  frame_header(next_, 4, type_of(h2_frame_type::window_update), 0, stream);
  put32(next_, increment);
}

std::vector<in_flight>& http2_session::cancel_expired(clock::time_point deadline) {
  taken_.clear();
  if (!live_) return taken_;
  for (auto& s : slots_) {
    if (!s.used || s.rec.sent > deadline) continue;
    taken_.push_back(s.rec);
    expired_ = true;
    queue_rst(s.stream_id, h2_error::cancel);
    release(s);
  }
  return taken_;
}

std::vector<in_flight>& http2_session::take_all() {
  taken_.clear();
  for (auto& s : slots_) {
    if (!s.used) continue;
    taken_.push_back(s.rec);
    release(s);
  }
  return taken_;
}

}  // namespace hit::http::detail

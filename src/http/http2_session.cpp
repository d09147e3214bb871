// HTTP/2 on one connection through nghttp2's memory interface. See detail/http2_session.hpp.

#include "detail/http2_session.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace hit::http::detail {
namespace {

// Frames gathered per write: past this, the rest waits for the next write.
constexpr std::size_t output_batch = 64 * 1024;

}  // namespace

http2_session::http2_session(const std::vector<prepared_request>& requests, unsigned streams,
                             unsigned window_bits, stats::http2_counters& counters)
    : requests_(requests),
      window_bits_(window_bits),
      counters_(counters),
      slots_(std::max(1u, streams)),
      in_(read_size) {
  free_.reserve(slots_.size());
  for (std::size_t i = slots_.size(); i > 0; --i)
    free_.push_back(static_cast<std::uint32_t>(i - 1));
  outcomes_.reserve(slots_.size());
  taken_.reserve(slots_.size());
  out_.reserve(4096);
  if (nghttp2_session_callbacks_new(&callbacks_) != 0 || nghttp2_option_new(&options_) != 0)
    throw std::bad_alloc();
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks_, on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(callbacks_, on_header);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks_, on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks_, on_frame_not_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks_, on_stream_close);
  // Until the server's SETTINGS say otherwise, one stream (nghttp2 assumes 100, RFC 9113 none).
  nghttp2_option_set_peer_max_concurrent_streams(options_, 1);
  // nghttp2's HTTP messaging checks stay on: a response that breaks them (a bad :status, a
  // content-length its DATA does not match) resets its stream (stream_reset).
}

http2_session::~http2_session() {
  stop();
  nghttp2_option_del(options_);
  nghttp2_session_callbacks_del(callbacks_);
}

void http2_session::start() {
  stop();
  if (nghttp2_session_client_new3(&session_, callbacks_, this, options_, memory_.mem()) != 0)
    throw std::bad_alloc();
  const auto window = static_cast<std::uint32_t>((std::uint64_t{1} << window_bits_) - 1);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, window},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(window));
  limit_ = 1;
  goaway_ = false;
  exhausted_ = false;
  expired_ = false;
  ++counters_.connections;
}

void http2_session::stop() noexcept {
  if (session_ == nullptr) return;
  nghttp2_session_del(session_);  // calls no stream-close callback
  session_ = nullptr;
  for (std::size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].used) release(slots_[i]);
  out_.clear();
  out_sent_ = 0;
}

bool http2_session::can_submit() const noexcept {
  return session_ != nullptr && active_ < limit_ && !closing();
}

bool http2_session::done() const noexcept {
  return session_ == nullptr ||
         (nghttp2_session_want_read(session_) == 0 && nghttp2_session_want_write(session_) == 0);
}

bool http2_session::submit(const in_flight& rec) {
  const std::uint32_t i = free_.back();
  slot& s = slots_[i];
  s = slot{.rec = rec, .used = true};
  const auto& request = requests_[rec.target].http2;
  nghttp2_data_provider body{};
  body.read_callback = read_body;
  void* user = reinterpret_cast<void*>(std::uintptr_t{i} + 1);
  const auto id =
      nghttp2_submit_request(session_, nullptr, request.fields.data(), request.fields.size(),
                             request.body.empty() ? nullptr : &body, user);
  if (id < 0) {
    s.used = false;
    exhausted_ = true;
    return false;
  }
  s.stream_id = id;
  free_.pop_back();
  ++active_;
  counters_.peak_streams = std::max<std::uint64_t>(counters_.peak_streams, active_);
  return true;
}

boost::asio::const_buffer http2_session::output() {
  if (session_ != nullptr) {
    while (out_.size() - out_sent_ < output_batch) {
      const std::uint8_t* p = nullptr;
      const auto n = nghttp2_session_mem_send(session_, &p);
      if (n <= 0) break;  // nothing more (an error here is only out of memory)
      out_.insert(out_.end(), p, p + n);
    }
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

bool http2_session::received(std::size_t n, clock::time_point now) {
  if (session_ == nullptr) return false;
  now_ = now;
  return nghttp2_session_mem_recv(session_, in_.data(), n) == static_cast<ssize_t>(n);
}

std::vector<in_flight>& http2_session::cancel_expired(clock::time_point deadline) {
  taken_.clear();
  if (session_ == nullptr) return taken_;
  for (auto& s : slots_) {
    if (!s.used || s.cancelled || s.rec.sent > deadline) continue;
    s.cancelled = true;  // released when nghttp2 closes the stream, without an outcome
    ++cancelled_;
    expired_ = true;
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.stream_id, NGHTTP2_CANCEL);
    taken_.push_back(s.rec);
  }
  return taken_;
}

std::vector<in_flight>& http2_session::take_all() {
  taken_.clear();
  for (auto& s : slots_)
    if (s.used && !s.cancelled) taken_.push_back(s.rec);
  return taken_;
}

http2_session::slot* http2_session::slot_of(std::int32_t stream_id) const noexcept {
  auto* user = nghttp2_session_get_stream_user_data(session_, stream_id);
  if (user == nullptr) return nullptr;
  const auto i = reinterpret_cast<std::uintptr_t>(user) - 1;
  return const_cast<slot*>(&slots_[i]);
}

void http2_session::release(slot& s) noexcept {
  if (s.cancelled) --cancelled_;
  s.used = false;
  free_.push_back(static_cast<std::uint32_t>(&s - slots_.data()));
  --active_;
}

int http2_session::on_begin_headers(nghttp2_session*, const nghttp2_frame* f, void* user) {
  auto* self = static_cast<http2_session*>(user);
  if (f->hd.type != NGHTTP2_HEADERS) return 0;
  if (auto* s = self->slot_of(f->hd.stream_id); s && s->rec.first_byte == clock::time_point{})
    s->rec.first_byte = self->now_;
  return 0;
}

int http2_session::on_header(nghttp2_session*, const nghttp2_frame* f, const std::uint8_t* name,
                             std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                             std::uint8_t, void* user) {
  auto* self = static_cast<http2_session*>(user);
  self->counters_.header_bytes_decoded += namelen + valuelen;
  if (f->hd.type != NGHTTP2_HEADERS || namelen != 7 || std::memcmp(name, ":status", 7) != 0)
    return 0;
  // (nghttp2 has checked it: three digits; a bad one resets the stream, PROTOCOL_ERROR.)
  unsigned status = 0;
  for (std::size_t i = 0; i < valuelen && i < 3; ++i)
    status = status * 10 + static_cast<unsigned>(value[i] - '0');
  if (auto* s = self->slot_of(f->hd.stream_id)) s->status = status;
  return 0;
}

int http2_session::on_frame_recv(nghttp2_session* session, const nghttp2_frame* f, void* user) {
  auto* self = static_cast<http2_session*>(user);
  switch (f->hd.type) {
    case NGHTTP2_HEADERS:
      self->counters_.header_bytes_wire += f->hd.length;
      [[fallthrough]];
    case NGHTTP2_DATA:
      if (auto* s = self->slot_of(f->hd.stream_id)) {
        s->rec.bytes_in += 9 + f->hd.length;
        if ((f->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) s->answered = true;
      }
      break;
    case NGHTTP2_SETTINGS:
      if ((f->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
        const auto cap =
            nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        self->limit_ = static_cast<unsigned>(std::min<std::uint64_t>(self->slots_.size(), cap));
        auto& low = self->counters_.stream_limit;
        if (low == 0 || self->limit_ < low) low = self->limit_;
      }
      break;
    case NGHTTP2_GOAWAY:
      self->goaway_ = true;
      ++self->counters_.goaways;
      break;
    default:
      break;
  }
  return 0;
}

// A request nghttp2 did not send: refused when a GOAWAY came first (or the session is closing),
// reset for any other reason (headers too large to frame, ...). nghttp2 then closes the stream,
// whose close callback finds the slot already released.
int http2_session::on_frame_not_send(nghttp2_session*, const nghttp2_frame* f, int error,
                                     void* user) {
  auto* self = static_cast<http2_session*>(user);
  if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  for (auto& s : self->slots_)
    if (s.used && s.stream_id == f->hd.stream_id) {
      if (s.cancelled) {
        self->release(s);
      } else if (error == NGHTTP2_ERR_START_STREAM_NOT_ALLOWED ||
                 error == NGHTTP2_ERR_STREAM_CLOSING) {
        self->refuse(s);
      } else {
        self->outcomes_.push_back({.what = stream_outcome::kind::reset, .rec = s.rec});
        self->release(s);
      }
      break;
    }
  return 0;
}

void http2_session::refuse(slot& s) {
  outcomes_.push_back({.what = stream_outcome::kind::refused, .rec = s.rec});
  release(s);
}

int http2_session::on_stream_close(nghttp2_session*, std::int32_t stream_id,
                                   std::uint32_t error_code, void* user) {
  auto* self = static_cast<http2_session*>(user);
  slot* s = self->slot_of(stream_id);
  if (s == nullptr || !s->used) return 0;
  if (!s->cancelled) {
    stream_outcome o{.rec = s->rec, .status = s->status, .error_code = error_code};
    // A response is whole once the server ended its side (END_STREAM), whatever closes the
    // stream after it (RST_STREAM NO_ERROR to stop an upload, as RFC 9113 8.1 allows).
    if (s->answered && s->status >= 200) {
      o.what = stream_outcome::kind::response;
    } else if (error_code == NGHTTP2_REFUSED_STREAM) {
      o.what = stream_outcome::kind::refused;
    } else {
      o.what = stream_outcome::kind::reset;
    }
    self->outcomes_.push_back(o);
  }
  self->release(*s);
  return 0;
}

ssize_t http2_session::read_body(nghttp2_session* session, std::int32_t stream_id,
                                 std::uint8_t* buf, std::size_t length, std::uint32_t* flags,
                                 nghttp2_data_source*, void* user) {
  auto* self = static_cast<http2_session*>(user);
  slot* s = self->slot_of(stream_id);
  (void)session;
  if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const auto& body = self->requests_[s->rec.target].http2.body;
  const std::size_t n = std::min<std::size_t>(length, body.size() - s->body_sent);
  std::memcpy(buf, body.data() + s->body_sent, n);
  s->body_sent += n;
  if (s->body_sent == body.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

}  // namespace hit::http::detail

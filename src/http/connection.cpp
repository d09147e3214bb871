// One connection's life: connect before the first request, then send a request and read its
// response, one at a time, until the loop has no more work; close at the end. A chain of
// completion handlers on the owning loop's thread, with one operation in flight (two while a
// request too large for one write is read from as it is written: see on_written).
//
// Hot path per request: one send of the prebuilt request bytes; one recv straight into the
// connection's own buffer (Asio tries it at once, and after an exhausting read waits for epoll
// instead of failing with EAGAIN); a parse that copies nothing; two clock reads; counter updates
// in the loop's own summary. No allocation (handler_memory), no lock (UNSAFE concurrency hint),
// no per-request timer (the loop's sweep).

#include <array>
#include <boost/asio/bind_allocator.hpp>
#include <cstring>

#include "detail/classify.hpp"
#include "detail/event_loop.hpp"

namespace hit::http::detail {
namespace {
constexpr std::size_t buffer_size = 8192;  // also the largest response header accepted (wrk: 8 KiB)
}  // namespace

connection::connection(event_loop& l)
    : loop_(l),
      socket_(l.io.get_executor()),
      timer_(l.io.get_executor()),
      parser_(buffer_size),
      buffer_(buffer_size) {}

template <class F>
auto connection::bind(F&& f) {
  return asio::bind_allocator(handler_allocator<int>(memory_), std::forward<F>(f));
}

void connection::close_socket() {
  if (connected_) {
    ++loop_.summary.connections_closed;
    --loop_.connected;
  }
  connected_ = false;
  boost::system::error_code ignored;
  socket_.close(ignored);
  buffered_ = 0;
}

void connection::expire(clock::time_point now) {
  if (deadline_ <= now && !timed_out_) {
    timed_out_ = true;
    close_socket();  // the pending connect/read/write completes with an error
  }
}

void connection::open() {
  has_request_ = false;
  begin_connect();
}

void connection::run(clock::time_point due) {
  due_ = due;
  has_request_ = true;
  retried_ = false;
  start_request();
}

void connection::next() {
  has_request_ = false;
  if (loop_.cfg.model == load_model::open) return loop_.connection_free(*this);
  const auto due = loop_.take_request();
  if (!due) return finish();
  due_ = *due;
  has_request_ = true;
  retried_ = false;
  if (loop_.pacer && due_ > clock::now()) {
    waited_ = true;
    timer_.expires_at(due_);
    timer_.async_wait(bind([this](const boost::system::error_code&) {
      if (loop_.stopping) return finish();  // taken but never sent: not a request
      start_request();
    }));
    return;
  }
  start_request();
}

void connection::start_request() {
  if (socket_.is_open() && waited_ && !quiet_while_idle()) {
    // The server spoke while nobody asked: an unsolicited response, or the rest of one. The
    // connection's byte stream no longer pairs responses with requests; start afresh.
    ++loop_.summary.unsolicited;
    close_socket();
  }
  waited_ = false;
  if (socket_.is_open()) return send();
  begin_connect();
}

// One FIONREAD ioctl, paid only by a connection that sat idle (a pacing wait, the open model's
// idle list), where bytes from the server may have arrived unasked; never on the unpaced path.
bool connection::quiet_while_idle() {
  boost::system::error_code ec;
  return socket_.available(ec) == 0 && !ec;
}

// The `before` of the connection's lifecycle. Tries the endpoint that last worked first.
void connection::begin_connect() {
  timed_out_ = false;
  deadline_ = clock::now() + loop_.cfg.timeout;
  attempt_ = 0;
  connect_next();
}

void connection::connect_next() {
  const auto& eps = loop_.endpoints;
  socket_.async_connect(eps[(loop_.preferred_endpoint + attempt_) % eps.size()],
                        bind([this](const boost::system::error_code& ec) { on_connect(ec); }));
}

void connection::on_connect(const boost::system::error_code& ec) {
  if (!ec && !timed_out_) {
    loop_.preferred_endpoint = (loop_.preferred_endpoint + attempt_) % loop_.endpoints.size();
    boost::system::error_code ignored;
    socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    deadline_ = clock::time_point::max();
    backoff_ = std::chrono::milliseconds(0);
    ++loop_.summary.connections_opened;
    connected_ = true;
    served_ = 0;
    loop_.summary.peak_connections =
        std::max<std::uint64_t>(loop_.summary.peak_connections, ++loop_.connected);
    if (!has_request_) return loop_.connection_ready(*this);
    return send();
  }
  close_socket();
  if (!timed_out_ && ++attempt_ < loop_.endpoints.size()) return connect_next();
  deadline_ = clock::time_point::max();
  const auto kind = timed_out_ ? stats::error_kind::connect_timeout : classify(ec, true);
  if (has_request_) {
    loop_.summary.record_error(kind);
    loop_.publish();
  }
  if (loop_.cfg.model == load_model::open) {
    const bool had_request = has_request_;
    has_request_ = false;
    return loop_.connection_failed(*this, kind, had_request);
  }
  // A run bounded by -n spends one request per failed connect, so it cannot spin for long: try
  // again at once. A run bounded only by time backs off (1 ms doubling to 100 ms) so that a
  // refusing server is not hammered in a tight loop for the whole duration.
  if (loop_.cfg.requests > 0) return next();
  backoff_ = std::min(std::chrono::milliseconds(100),
                      std::max(std::chrono::milliseconds(1), backoff_ * 2));
  timer_.expires_after(backoff_);
  timer_.async_wait(bind([this](const boost::system::error_code&) { next(); }));
}

void connection::send() {
  sent_ = clock::now();
  if (loop_.pacer) {
    loop_.summary.send_lag.record(sent_ - due_);
    loop_.summary.last_send = sent_ - loop_.start;
  } else {
    due_ = sent_;
  }
  timed_out_ = false;
  deadline_ = sent_ + loop_.cfg.timeout;
  written_ = 0;
  bytes_in_ = 0;
  write_error_ = {};
  parser_.reset(loop_.cfg.head);
  write_some();
}

void connection::write_some() {
  const auto& r = loop_.cfg.request;
  auto done =
      bind([this](const boost::system::error_code& ec, std::size_t n) { on_written(ec, n); });
  writing_ = true;
  if (r.body.empty()) {  // the usual case: one buffer, one send
    socket_.async_write_some(asio::buffer(r.head.data() + written_, r.head.size() - written_),
                             std::move(done));
  } else if (written_ < r.head.size()) {
    const std::array<asio::const_buffer, 2> both = {
        asio::buffer(r.head.data() + written_, r.head.size() - written_), asio::buffer(r.body)};
    socket_.async_write_some(both, std::move(done));
  } else {
    const std::size_t at = written_ - r.head.size();
    socket_.async_write_some(asio::buffer(r.body.data() + at, r.body.size() - at), std::move(done));
  }
}

// A server may close an idle keep-alive connection just as a request is written to it (RFC 9112
// 9.3.1). If a connection that already served responses fails before any byte of the next one
// arrives, the request is resent once on a new connection instead of being counted as an error.
bool connection::stale(const boost::system::error_code& ec) const {
  const bool stale_kind = ec == asio::error::eof || ec == asio::error::connection_reset ||
                          ec == asio::error::broken_pipe;
  return stale_kind && !timed_out_ && !retried_ && served_ > 0 && bytes_in_ == 0;
}

void connection::resend() {
  retried_ = true;
  ++loop_.summary.retries;
  close_socket();
  begin_connect();
}

// A request too large for one write is read from while it is written: a server may answer it
// before reading all of it (413 Content Too Large, then close), and that answer is the result.
// Either side may then end the request; the other operation is closed down, and the request
// moves on (settle) only when neither is still pending.
void connection::on_written(const boost::system::error_code& ec, std::size_t n) {
  writing_ = false;
  if (over_) return settle();
  // A timeout closed the socket: whatever else happened, this request timed out.
  if (timed_out_) return fail(stats::error_kind::timeout);
  if (ec) {
    // The server stopped reading; what it sent before that decides the request.
    if (reading_) {
      write_error_ = ec;
      return;
    }
    if (stale(ec)) return resend();
    return fail(classify(ec, false));
  }
  written_ += n;
  if (written_ < loop_.cfg.request.size()) {
    if (!reading_) read_some();
    return write_some();
  }
  if (!reading_) parse_or_read();
}

void connection::parse_or_read() {
  if (buffered_ > 0) {
    std::size_t used = 0;
    const auto st = parser_.feed({buffer_.data(), buffered_}, used);
    if (used > 0) {
      buffered_ -= used;
      if (buffered_ > 0) std::memmove(buffer_.data(), buffer_.data() + used, buffered_);
    }
    if (st == parse_status::done) return complete();
    if (st == parse_status::error) return fail(stats::error_kind::malformed);
    if (buffered_ == buffer_.size()) return fail(stats::error_kind::malformed);  // header > buffer
  }
  read_some();
}

void connection::read_some() {
  reading_ = true;
  socket_.async_read_some(
      asio::buffer(buffer_.data() + buffered_, buffer_.size() - buffered_),
      bind([this](const boost::system::error_code& ec, std::size_t n) { on_read(ec, n); }));
}

void connection::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (over_) return settle();
  // A timeout closed the socket (and emptied the buffer): even if this read completed, its
  // bytes belong to a request that has timed out.
  if (timed_out_) return fail(stats::error_kind::timeout);
  if (ec && stale(ec)) {
    if (!writing_) return resend();
    // Still writing: end the write first; settle() resends once neither is pending.
    resend_ = true;
    close_socket();
    return settle();
  }
  if (ec == asio::error::eof) {
    if (parser_.feed_eof() == parse_status::done) return complete();
    if (parser_.got_header()) return fail(stats::error_kind::malformed);
    // No answer at all: if the write had already failed, its error says what happened.
    return fail(write_error_ ? classify(write_error_, false) : stats::error_kind::closed);
  }
  if (ec) return fail(classify(ec, false));
  buffered_ += n;
  bytes_in_ += n;
  parse_or_read();
}

void connection::complete() {
  const auto done = clock::now();
  deadline_ = clock::time_point::max();
  loop_.summary.record_response(parser_.status(), bytes_in_, done - due_, done - sent_);
  ++served_;
  loop_.publish();
  // Bytes beyond the response were sent before any request asked for them: the next response
  // on this connection could not be told from them, so the connection ends here.
  const bool unsolicited = buffered_ > 0;
  if (unsolicited) ++loop_.summary.unsolicited;
  // After 101 Switching Protocols the connection no longer speaks HTTP/1.1; a request still
  // being written cannot be finished either.
  if (!loop_.cfg.keepalive || !parser_.keep_alive() || unsolicited || parser_.status() == 101 ||
      written_ < loop_.cfg.request.size())
    close_socket();
  settle();
}

void connection::fail(stats::error_kind kind) {
  deadline_ = clock::time_point::max();
  loop_.summary.record_error(kind);
  loop_.publish();
  close_socket();
  settle();
}

// The request is over (or to be resent); once no operation of it is pending, move on.
void connection::settle() {
  over_ = writing_ || reading_;
  if (over_) return;
  if (resend_) {
    resend_ = false;
    return resend();
  }
  next();
}

// The `after` of the lifecycle.
void connection::finish() {
  close_socket();
  loop_.connection_done();
}

}  // namespace hit::http::detail

// A connection that pipelines HTTP/1.1 (--pipeline N): up to N requests written back to back,
// their responses read in order. A read is always pending while requests are in flight; what it
// brings completes the oldest requests, which are counted, and the ring is filled again from
// the loop (p_fill); the new requests go out in one write. Connect, handshake, back-off and the
// connection's accounting are connection.cpp's. Closed model only (cli refuses a rate).
//
// Every request ends once: a response, an error, or a resend through the loop's queue (counted
// in retries) when the connection ends before its answer for a reason not its own:
//   - the server closed it after a response (Connection: close: nginx does every 1000
//     requests), or answered a request it had not read whole, or sent bytes nobody asked for;
//     the requests behind are resent, as RFC 9112 9.3.2 asks of a client that pipelines;
//   - it was closed or reset before any byte of the oldest answer, after earlier answers (a
//     stale keep-alive connection, as on the one-at-a-time path): all are resent;
//   - any other failure is the oldest request's: it is counted, the others are resent;
//   - a timeout is the failure of every request sent at least the timeout ago; the others are
//     resent.
// Each lost connection either answered a request or failed one, so resends cannot go on
// without the run making progress; a request may be resent more than once (counted each time
// in retries). A resent templated request keeps its number ({{seq}}) and draws new random
// values.

#include "detail/classify.hpp"
#include "detail/connection.hpp"
#include "detail/event_loop.hpp"

namespace hit::http::detail {

// After the connect and handshake: the request that opened it, then as many as fit.
void connection::p_start() {
  drained_ = false;
  if (has_request_) {
    has_request_ = false;
    p_push(session_.current());
  }
  p_fill(clock::now());
}

void connection::p_push(const in_flight& rec) {
  pipeline_->push(rec, loop_.template_random);
  ++submitted_;
}

void connection::p_take(std::optional<clock::time_point> due) {
  if (!due) {
    drained_ = true;
    return;
  }
  p_push(loop_.fresh(*due));
}

// Takes requests from the loop (resends first) while the ring has room, then writes them. New
// requests are taken once half the ring is free (or all of it, at depth 2 or below), so that a
// write carries at least that many: refilled after every read, a ring of 16 went out ~10
// requests per send, and the generator spent ~25% more CPU per request (syscalls and the
// loopback's segments; docs/performance.md). Requests in flight stay between half the depth
// and the depth.
void connection::p_fill(clock::time_point now) {
  const auto depth = loop_.cfg.pipeline;
  if (depth - pipeline_->size() < (depth + 1) / 2) return p_flush(now);
  filling_ = true;
  while (!pipeline_->full() && (!drained_ || loop_.resend_for(number_))) {
    const auto before = submitted_;
    loop_.worker_free(*this);  // run (a resend) or take (a new request): p_push
    if (submitted_ == before) break;
  }
  filling_ = false;
  p_flush(now);
}

// Writes what is not written yet, keeps a read pending while requests are in flight, and ends
// the connection once the loop has no more work and nothing is in flight. After a failed write
// nothing more is written: the read goes on to the end of what the server sent.
void connection::p_flush(clock::time_point now) {
  if (!writing_ && !write_error_ && pipeline_->unwritten()) {
    pipeline_->stage(now);
    writing_ = true;
    transport_.async_write_some(
        pipeline_->output(), bind_write([this](const boost::system::error_code& ec, std::size_t n) {
          p_on_written(ec, n);
        }));
  }
  if (!reading_ && !pipeline_->empty()) p_read();
  if (pipeline_->empty() && drained_ && !writing_ && !reading_) finish();
}

void connection::p_on_written(const boost::system::error_code& ec, std::size_t n) {
  writing_ = false;
  if (after_close_) return p_settle();
  if (timed_out_) return p_lost(stats::error_kind::timeout, {}, false);
  // The server stopped reading: the pending read says what it sent before that (and a silent
  // server meets the timeout).
  if (ec) {
    write_error_ = ec;
    return;
  }
  pipeline_->wrote(n);
  if (pipeline_->unwritten()) p_flush(clock::now());
}

void connection::p_read() {
  reading_ = true;
  transport_.async_read_some(
      pipeline_->read_buffer(),
      bind([this](const boost::system::error_code& ec, std::size_t n) { p_on_read(ec, n); }));
}

// What a read brought completes the oldest requests: one clock read for all of them (they were
// all seen then), then the ring is filled again.
void connection::p_on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (after_close_) return p_settle();
  if (timed_out_) return p_lost(stats::error_kind::timeout, {}, false);
  const auto now = clock::now();
  if (ec == asio::error::eof) {
    const auto st = pipeline_->eof();
    if (st == parse_status::done) {  // a response framed by the close
      loop_.summary.advance(now - loop_.start);
      p_answered(now);
      return p_lost(stats::error_kind::closed, {}, true);
    }
    if (st == parse_status::error) return p_lost(stats::error_kind::malformed, {}, false);
    // No byte of an answer: a write that failed says why.
    if (write_error_) return p_lost(classify(write_error_, false), write_error_, false);
    return p_lost(stats::error_kind::closed, ec, false);
  }
  if (ec) return p_lost(classify(ec, false), ec, false);
  pipeline_->received(n);
  loop_.summary.advance(now - loop_.start);
  // (A request's first bytes are here: its first_byte is set before it is parsed, so that a
  // connection lost in the middle of an answer is never taken for a stale one.)
  while (!pipeline_->empty() && pipeline_->buffered()) {
    auto& rec = pipeline_->front();
    if (rec.first_byte == clock::time_point{}) rec.first_byte = now;
    const auto st = pipeline_->parse();
    if (st == parse_status::need_more) break;
    if (st == parse_status::error) {
      loop_.publish();
      return p_lost(stats::error_kind::malformed, {}, false);
    }
    // The connection ends after this response when the server says so, when it stops
    // speaking HTTP/1.1 (101), or when it answered a request before reading all of it.
    const bool last =
        !pipeline_->keep_alive() || pipeline_->status() == 101 || !pipeline_->front_written();
    p_answered(now);
    if (last) {
      loop_.publish();
      return p_lost(stats::error_kind::closed, {}, true);
    }
  }
  loop_.publish();
  // Bytes beyond every answer were sent before any request asked for them: the next response
  // could not be told from them.
  if (pipeline_->empty() && pipeline_->buffered()) {
    ++loop_.summary.unsolicited;
    return p_lost(stats::error_kind::closed, {}, true);
  }
  if (write_error_) return p_flush(now);  // (no new request on a connection that cannot take it)
  p_fill(now);
}

void connection::p_answered(clock::time_point now) {
  auto& rec = pipeline_->front();
  if (rec.first_byte == clock::time_point{}) rec.first_byte = now;
  loop_.record_response(pipeline_->status(), rec, rec.bytes_in, now);
  loop_.summary.ttfb.record(rec.first_byte - rec.sent);
  ++served_;
  pipeline_->pop();
}

// The connection is lost with requests in flight (see the top of the file): each is counted as
// a failure or queued in the loop to be resent; once no operation is pending, the connection
// asks the loop for work again, which connects anew.
void connection::p_lost(stats::error_kind kind, boost::system::error_code ec, bool clean) {
  const auto now = clock::now();
  if (!pipeline_->empty()) {
    // No byte of the oldest answer came (parsed or not).
    const bool unanswered = pipeline_->front().first_byte == clock::time_point{};
    // A TLS error before any answer on this connection: the server refused it at the end of
    // the handshake (TLS 1.3 sends the alert on the first read).
    if (ec && served_ == 0 && unanswered && classify(ec, false) == stats::error_kind::tls)
      loop_.tls_failed(transport_.failure());
    const bool stale_kind = ec == asio::error::eof || ec == asio::error::connection_reset ||
                            ec == asio::error::broken_pipe;
    if (stale_kind && served_ > 0 && unanswered) clean = true;
  }
  bool oldest = true;
  while (!pipeline_->empty()) {
    auto rec = pipeline_->take_front();
    const bool failed = timed_out_
                            ? rec.sent != clock::time_point{} && now - rec.sent >= loop_.cfg.timeout
                            : oldest && !clean;
    oldest = false;
    if (failed) {
      loop_.record_error(timed_out_ ? stats::error_kind::timeout : kind, rec);
      continue;
    }
    rec.refused_at = 0;  // any connection may send it
    ++loop_.summary.retries;
    loop_.resends.push_back(rec);
  }
  loop_.publish();
  write_error_ = {};
  close_socket();
  after_close_ = true;
  p_settle();
}

// Once neither the read nor the write is pending, the connection asks for work: the resends
// first, then new requests, on a new connection. (Not while the loop is torn down after an
// exception: nothing may start then.)
void connection::p_settle() {
  if (writing_ || reading_ || loop_.ended) return;
  after_close_ = false;
  next();
}

void connection::p_expire(clock::time_point now) {
  if (timed_out_ || pipeline_->empty()) return;
  const auto sent = pipeline_->front().sent;
  if (sent != clock::time_point{} && now - sent >= loop_.cfg.timeout) {
    timed_out_ = true;
    close_socket();  // the pending read completes with an error: p_lost
  }
}

}  // namespace hit::http::detail

// A connection that speaks HTTP/2: many requests in flight at once, one per stream, up to the
// session's limit (--streams, lowered by the server's SETTINGS_MAX_CONCURRENT_STREAMS). A read
// is always pending; what it brings ends streams (http2_session's outcomes), which are counted,
// and the freed streams are filled again from the loop (fill). The frames produced in one turn
// go out in one write. Connect, handshake, back-off and the connection's accounting are
// connection.cpp's, shared with HTTP/1.1.
//
// Every request ends once: a response, an error, or (refused by the server: REFUSED_STREAM, or
// above a GOAWAY's last stream id) a resend through the loop, counted in retries, and an error
// if refused again. A lost connection fails its open streams, except those that had no byte of
// answer on a connection that already served responses (a stale connection, as in HTTP/1.1):
// those are resent once. A stream past the timeout is reset and counted as a timeout; the
// connection then takes no new stream and closes when its others end.

#include "detail/classify.hpp"
#include "detail/connection.hpp"
#include "detail/event_loop.hpp"

namespace hit::http::detail {

// After the connect and handshake: the preface and SETTINGS go out with the first request.
void connection::h2_start() {
  drained_ = false;
  http2_->start();
  if (has_request_) {
    has_request_ = false;
    h2_submit(session_.current());
  } else {
    loop_.worker_ready(*this);  // open model: the pool gives it requests (or lists it idle)
  }
  h2_fill();
  if (http2_->live()) h2_read();
}

void connection::h2_take(std::optional<clock::time_point> due) {
  if (!due) {
    drained_ = true;
    return h2_check_end();
  }
  if (loop_.pacer && *due > clock::now()) {
    paced_ = true;
    timer_.expires_at(*due);
    timer_.async_wait(asio::bind_allocator(handler_allocator<int>(timer_memory_),
                                           [this, d = *due](const boost::system::error_code&) {
                                             paced_ = false;
                                             h2_paced(loop_.fresh(d));
                                           }));
    return;
  }
  h2_submit(loop_.fresh(*due));
}

// The pacing wait for `rec` is over: send it, or hand it on. Taken but never sent when the
// run is stopping: not a request.
void connection::h2_paced(const in_flight& rec) {
  // The connection is closing (its read or write has yet to complete): h2_closed goes on, and
  // connects anew for this request.
  if (after_close_) {
    if (!loop_.stopping) {
      has_request_ = true;
      session_.assign(rec);
    }
    return;
  }
  if (h2_ && connected_ && http2_->live()) {
    if (loop_.stopping) {
      drained_ = true;
      return h2_check_end();
    }
    // GOAWAY (or a timeout) came during the wait: another connection sends it.
    if (!http2_->can_submit()) {
      loop_.resends.push_back(rec);
      return h2_check_end();
    }
    h2_submit(rec);
    return h2_fill();
  }
  // The connection was lost during the wait, and has settled (h2_closed left it to this).
  if (loop_.stopping) return finish();
  has_request_ = true;
  start_request(rec);
}

void connection::h2_submit(in_flight rec) {
  rec.sent = clock::now();
  if (loop_.pacer) {
    loop_.summary.send_lag.record(rec.sent - rec.due);
    loop_.summary.last_send = rec.sent - loop_.start;
  } else if (!rec.retried) {
    rec.due = rec.sent;
  }
  rec.first_byte = {};
  rec.bytes_in = 0;
  ++submitted_;
  // Refused by the session (stream ids used up): another connection sends it.
  if (!http2_->submit(rec)) loop_.resends.push_back(rec);
}

// Takes requests from the loop while a stream is free, then (unless `flush` is false: the caller
// writes later) writes what that produced.
void connection::h2_fill(bool flush) {
  filling_ = true;
  while (http2_->can_submit() && !paced_ && (!drained_ || loop_.resend_for(number_))) {
    const auto before = submitted_;
    loop_.worker_free(*this);  // take or run (closed model), or the pool's run
    if (submitted_ == before) break;
  }
  filling_ = false;
  if (flush) h2_flush();
}

void connection::h2_flush() {
  if (writing_ || !connected_ || !http2_->live()) return;
  const auto b = http2_->output();
  if (b.size() == 0) return;
  writing_ = true;
  transport_.async_write_some(b, bind_write([this](const boost::system::error_code& ec,
                                                   std::size_t n) { h2_on_written(ec, n); }));
}

void connection::h2_on_written(const boost::system::error_code& ec, std::size_t n) {
  writing_ = false;
  if (!http2_->live()) return h2_closed();
  if (ec) return h2_lost(classify(ec, false));
  http2_->wrote(n);
  h2_flush();  // what was queued while this write went out
  // Streams can end while writing (a server that answers before a request's body is sent): a
  // read fills the streams it ends, this fills those, or an unpaced connection whose every stream
  // ended so would wait for a read that never comes. (Paced requests are taken by their timer.)
  if (!loop_.pacer && http2_->live() && http2_->half_free()) {
    h2_fill();
    if (!http2_->live()) return;
  }
  h2_check_end();
}

void connection::h2_read() {
  reading_ = true;
  transport_.async_read_some(
      http2_->read_buffer(),
      bind([this](const boost::system::error_code& ec, std::size_t n) { h2_on_read(ec, n); }));
}

// What a read brought ends streams: they are counted and their streams filled again, then the
// next read starts (Asio tries it at once) before the frames go out: the write is posted behind
// it, so that when the rest of a burst of responses had already arrived, it is read and
// answered in the same write (as h2load does by reading until the socket would block), not in
// one write per piece.
void connection::h2_on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (!http2_->live()) return h2_closed();
  if (ec) return h2_lost(ec == asio::error::eof ? stats::error_kind::closed : classify(ec, false));
  const auto now = clock::now();
  const bool ok = http2_->received(n, now);
  h2_count(now);
  if (!ok) return h2_lost(stats::error_kind::malformed);
  // Unpaced, new streams start once half the connection's are free, so that a write carries
  // many requests and the server answers them in bursts (from about half to all of S in flight:
  // h2load -m S also treats S as a maximum). A paced request goes when it is due.
  if (loop_.pacer || http2_->half_free()) h2_fill(false);
  if (!http2_->live()) return;  // the fill ended the connection
  h2_read();
  // Over TLS one read is one record: when the next was already read ahead, its completion is
  // queued, and the write waits for the last record of the burst (as h2load reads all first).
  if (transport_.read_at_once()) return;
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(loop_.io, bind_flush([this] {
                 flush_posted_ = false;
                 if (!http2_->live()) return h2_closed();
                 h2_flush();
                 h2_check_end();
               }));
  }
}

// The streams that ended: responses, resets, refusals.
void connection::h2_count(clock::time_point now) {
  auto& done = http2_->outcomes();
  if (done.empty()) return;
  loop_.summary.advance(now - loop_.start);
  for (const auto& o : done) {
    switch (o.what) {
      case stream_outcome::kind::response:
        loop_.record_response(o.status, o.rec, o.rec.bytes_in, now);
        loop_.summary.ttfb.record(
            (o.rec.first_byte == clock::time_point{} ? now : o.rec.first_byte) - o.rec.sent);
        ++served_;
        break;
      case stream_outcome::kind::refused:
        // After GOAWAY, on a connection opened later; a REFUSED_STREAM alone: on any.
        loop_.resend(o.rec, stats::error_kind::stream_reset, !http2_->going_away());
        break;
      case stream_outcome::kind::reset:
        loop_.record_error(stats::error_kind::stream_reset, o.rec);
        break;
    }
  }
  done.clear();
  loop_.publish();
}

// With no stream open: the end of the closed model's work, or of a connection that takes no
// more streams (GOAWAY, a timed-out stream, both sides done).
void connection::h2_check_end() {
  if (!connected_ || !http2_->live()) return;
  // The session ended on a connection error (its GOAWAY is out): what is open never ends.
  if (http2_->open_streams() > 0 && http2_->done() && !writing_)
    return h2_lost(stats::error_kind::malformed);
  if (http2_->open_streams() > 0) return;
  // (Nothing open: a write still pending carries nothing a request waits for.)
  // (Resends wait for a new connection: this one closes and asks for work again.)
  if (drained_ && !paced_ && loop_.resends.empty()) return finish();
  if (http2_->closing() || http2_->done() || !loop_.resends.empty()) h2_close();
}

// The connection broke: its open streams fail with `kind`, or are resent when it was stale.
void connection::h2_lost(stats::error_kind kind) {
  if (!http2_->outcomes().empty()) h2_count(clock::now());
  const bool stale_kind = kind == stats::error_kind::closed || kind == stats::error_kind::reset;
  for (const auto& rec : http2_->take_all()) {
    if (stale_kind && served_ > 0 && rec.bytes_in == 0) {
      loop_.resend(rec, kind, false);
    } else {
      loop_.record_error(kind, rec);
    }
  }
  loop_.publish();
  h2_close();
}

void connection::h2_close() {
  if (!http2_->outcomes().empty()) h2_count(clock::now());
  close_socket();  // pending operations complete with operation_aborted
  after_close_ = true;
  h2_closed();
}

// Once neither the read nor a write is pending: ask the loop for work (a new connection).
void connection::h2_closed() {
  if (writing_ || reading_ || !after_close_) return;
  after_close_ = false;
  if (paced_) return;  // the pacing timer goes on (h2_paced)
  if (has_request_) return start_request(session_.current());  // one h2_paced kept
  next();
}

void connection::h2_expire(clock::time_point now) {
  const auto& expired = http2_->cancel_expired(now - loop_.cfg.timeout);
  if (expired.empty()) return;
  for (const auto& rec : expired) loop_.record_error(stats::error_kind::timeout, rec);
  loop_.publish();
  // A write pending that long (a server that stopped reading) will not carry the resets, nor
  // anything else: the connection is done, and what is still open on it times out with it.
  if (writing_) return h2_lost(stats::error_kind::timeout);
  h2_flush();
  h2_check_end();
}

}  // namespace hit::http::detail

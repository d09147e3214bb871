// One connection's life: connect and secure before the first request, then send a request and
// read its response, one at a time, until the loop has no more work; close at the end. A chain
// of completion handlers on the owning loop's thread, with one operation in flight (two while a
// request too large for one write is read from as it is written: see on_written).
//
// Hot path per request: one send of the prebuilt request bytes; one recv straight into the
// session's buffer (Asio tries it at once, and after an exhausting read waits for epoll instead
// of failing with EAGAIN; over TLS, one SSL_write and one SSL_read); a parse that copies
// nothing; three clock reads; counter updates in the loop's own summary. No allocation
// (handler_memory), no lock (UNSAFE concurrency hint), no per-request timer (the loop's sweep).

#include <netinet/in.h>

#include <algorithm>
#include <string_view>

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include "detail/classify.hpp"
#include "detail/event_loop.hpp"
#include "hit/printable.hpp"

namespace hit::http::detail {

connection::connection(event_loop& l)
    : loop_(l),
      transport_(l.io.get_executor(), l.tls, l.server_name, l.sessions),
      session_(l.requests, l.cfg.http != http_version::http2 && l.cfg.pipeline <= 1),
      timer_(l.io.get_executor()),
      rendered_(l.template_size > 0 && l.cfg.pipeline <= 1
                    ? std::make_unique_for_overwrite<char[]>(l.template_size)
                    : nullptr) {
  if (l.cfg.pipeline > 1)
    pipeline_ = std::make_unique<http1_pipeline>(l.requests, l.cfg.pipeline, l.template_size);
  // HTTP/2 always (--h2), or when ALPN may choose it (--http auto over TLS).
  if (l.cfg.http == http_version::http2 || (l.cfg.http == http_version::negotiate && l.tls))
    http2_ = std::make_unique<http2_session>(l.requests, l.cfg.streams, l.cfg.window_bits,
                                             l.summary.http2);
}

void connection::close_socket() {
  if (connected_) {
    ++loop_.summary.connections_closed;
    --loop_.connected;
  }
  connected_ = false;
  transport_.close();
  session_.reset();
  if (pipeline_) pipeline_->reset();
  if (http2_) http2_->stop();
}

void connection::expire(clock::time_point now) {
  if (h2_ && connected_) return h2_expire(now);
  if (pipeline_ && connected_) return p_expire(now);
  if (deadline_ <= now && !timed_out_) {
    timed_out_ = true;
    close_socket();  // the pending connect/handshake/read/write completes with an error
    if (awaits_handshake_) timer_.cancel();  // so does a wait for a handshake slot
  }
}

void connection::open() {
  has_request_ = false;
  begin_connect();
}

void connection::run(clock::time_point due) {
  run(loop_.fresh(due));
}

void connection::run(const in_flight& rec) {
  if (h2_ && connected_) {
    h2_submit(rec);
    if (!filling_) h2_flush();  // (a fill writes once, at its end)
    return;
  }
  if (pipeline_ && connected_) return p_push(rec);  // (only from p_fill, which writes it)
  has_request_ = true;
  start_request(rec);
}

bool connection::can_take() const {
  if (after_close_) return false;  // HTTP/2: closed, its read or write not yet completed
  return !(h2_ && connected_) || http2_->can_submit();
}

// The request is over: ask the loop for the next one (the closed model's `take_request`, or
// the open model's pool).
void connection::next() {
  has_request_ = false;
  loop_.worker_free(*this);
}

void connection::take(std::optional<clock::time_point> due) {
  if (h2_ && connected_) return h2_take(due);
  if (pipeline_ && connected_) return p_take(due);  // (only from p_fill)
  if (!due) return finish();
  has_request_ = true;
  if (loop_.pacer && *due > clock::now()) {
    waited_ = true;
    timer_.expires_at(*due);
    timer_.async_wait(bind([this, d = *due](const boost::system::error_code&) {
      if (loop_.stopping) return finish();  // taken but never sent: not a request
      start_request(loop_.fresh(d));
    }));
    return;
  }
  start_request(loop_.fresh(*due));
}

void connection::retry_after(std::chrono::milliseconds wait) {
  if (wait.count() == 0) return next();
  timer_.expires_after(wait);
  timer_.async_wait(bind([this](const boost::system::error_code&) { next(); }));
}

void connection::start_request(const in_flight& rec) {
  session_.assign(rec);
  const auto& varies = loop_.requests[rec.target].varies;
  if (varies && !pipeline_) {  // (a pipeline renders its requests itself)
    const auto n = varies->render({rec.seq, &loop_.template_random}, rendered_.get());
    session_.use({rendered_.get(), n}, varies->fixed_body());
  }
  // A connection that sat idle (a pacing wait, the open model's idle list) checks what the
  // server sent meanwhile: one FIONREAD, never on the unpaced path.
  if (connected_ && waited_) {
    const auto idle = transport_.idle_check();
    // The server spoke while nobody asked: an unsolicited response, or the rest of one. The
    // connection's byte stream no longer pairs responses with requests; start afresh.
    if (idle == transport::idle_state::data) ++loop_.summary.unsolicited;
    // (closed: the server ended the idle connection cleanly over TLS; just reconnect.)
    if (idle != transport::idle_state::quiet) close_socket();
  }
  waited_ = false;
  if (connected_) return send();
  begin_connect();
}

// The `before` of the connection's lifecycle. Tries the endpoint that last worked first.
void connection::begin_connect() {
  timed_out_ = false;
  connect_start_ = clock::now();
  deadline_ = connect_start_ + loop_.cfg.timeout;
  attempt_ = 0;
  connect_next();
}

void connection::connect_next() {
  const auto& eps = loop_.endpoints;
  const auto& to = eps[(loop_.preferred_endpoint + attempt_) % eps.size()];
  if (loop_.local_address) {
    // --local-address: bound before the connect, with the port left to the connect
    // (IP_BIND_ADDRESS_NO_PORT), so that the source ports are not exhausted across all
    // destinations at once, as a bind to port 0 would.
    auto& socket = transport_.socket();
    boost::system::error_code ec;
    socket.open(to.protocol(), ec);
#ifdef IP_BIND_ADDRESS_NO_PORT
    const int one = 1;
    if (!ec)
      ::setsockopt(socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    if (!ec) socket.bind(endpoint_type(asio::ip::tcp::endpoint(*loop_.local_address, 0)), ec);
    if (ec) return asio::post(loop_.io, bind([this, ec] { on_connect(ec); }));
  }
  transport_.socket().async_connect(
      to, bind([this](const boost::system::error_code& ec) { on_connect(ec); }));
}

void connection::on_connect(const boost::system::error_code& ec) {
  if (!ec && !timed_out_) {
    loop_.preferred_endpoint = (loop_.preferred_endpoint + attempt_) % loop_.endpoints.size();
    boost::system::error_code ignored;  // (a Unix socket has no Nagle to turn off)
    if (loop_.endpoints[loop_.preferred_endpoint].protocol().family() != AF_UNIX)
      transport_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    if (!loop_.tunnel.empty()) return open_tunnel();
    return connected();
  }
  transport_.close();
  if (!timed_out_ && ++attempt_ < loop_.endpoints.size()) return connect_next();
  connect_failed(timed_out_ ? stats::error_kind::connect_timeout : classify(ec, true));
}

// Through a proxy to an https URL: CONNECT host:port on the bare socket, then, once the proxy
// answers 2xx, TLS end to end inside the tunnel. Once per connection, never per request: the
// answer is read into a string of the connection's, a little at a time (a proxy's answer is a
// few hundred bytes; the server speaks first only after the ClientHello, so nothing may follow
// the answer's empty line).
void connection::open_tunnel() {
  tunnel_reply_.clear();
  asio::async_write(transport_.socket(), asio::buffer(loop_.tunnel),
                    bind([this](const boost::system::error_code& ec, std::size_t) {
                      if (timed_out_) return connect_failed(stats::error_kind::connect_timeout);
                      if (ec) {
                        transport_.close();
                        return connect_failed(classify(ec, true));
                      }
                      read_tunnel_reply();
                    }));
}

void connection::read_tunnel_reply() {
  constexpr std::size_t chunk = 512;
  const auto had = tunnel_reply_.size();
  tunnel_reply_.resize(had + chunk);
  transport_.socket().async_read_some(
      asio::buffer(tunnel_reply_.data() + had, chunk),
      bind([this, had](const boost::system::error_code& ec, std::size_t n) {
        tunnel_reply_.resize(had + n);
        on_tunnel_reply(ec);
      }));
}

void connection::on_tunnel_reply(const boost::system::error_code& ec) {
  if (timed_out_) return connect_failed(stats::error_kind::connect_timeout);
  constexpr std::size_t most = 16 * 1024;  // a proxy's answer header; beyond it, not one
  // The answer ends at its empty line; a bare LF ends a line as CR LF does (RFC 9112 2.2).
  const auto crlf = tunnel_reply_.find("\n\r\n"), lf = tunnel_reply_.find("\n\n");
  const auto end = std::min(crlf, lf);
  if (end == std::string::npos) {
    if (ec == asio::error::eof)
      return tunnel_failed("the proxy closed the connection without answering CONNECT");
    if (ec) {
      transport_.close();
      return connect_failed(classify(ec, true));
    }
    if (tunnel_reply_.size() > most)
      return tunnel_failed("the proxy's answer to CONNECT is too long");
    return read_tunnel_reply();
  }
  // "HTTP/1.1 200 Connection established": the status is the three digits after the version.
  std::string_view line = std::string_view(tunnel_reply_).substr(0, tunnel_reply_.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  const bool http = line.size() >= 12 && line.substr(0, 7) == "HTTP/1." && line[8] == ' ';
  const auto status = http ? line.substr(9, 3) : std::string_view();
  if (!http || status.size() != 3 ||
      !std::all_of(status.begin(), status.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return tunnel_failed("the proxy's answer to CONNECT is not HTTP: '" +
                         printable(line.substr(0, 80)) + "'");
  if (status[0] != '2')
    return tunnel_failed("the proxy refused the tunnel: " + printable(line.substr(9, 80)));
  if (end + (end == crlf ? 3 : 2) != tunnel_reply_.size())
    return tunnel_failed("the proxy sent bytes after its answer to CONNECT");
  tunnel_reply_ = std::string();  // (its memory too: the connection may live long)
  connected();
}

void connection::tunnel_failed(std::string why) {
  loop_.proxy_failed(std::move(why));
  transport_.close();
  connect_failed(stats::error_kind::proxy);
}

// Connected to the server (through the tunnel, if any): TLS next, or at once ready over TCP.
// A TLS handshake waits for one of the loop's slots (event_loop::max_handshakes); the wait
// counts toward the connect's deadline, not toward the handshake's time.
void connection::connected() {
  const auto now = clock::now();
  loop_.summary.connect_time.record(now - connect_start_);
  connect_start_ = now;
  if (!transport_.secure()) return handshake();
  if (loop_.handshakes < event_loop::max_handshakes) {
    ++loop_.handshakes;
    return handshake();
  }
  awaits_handshake_ = true;
  loop_.handshake_queue.push_back(this);
  wait_for_handshake();
}

void connection::wait_for_handshake() {
  timer_.expires_at(clock::time_point::max());
  timer_.async_wait(bind([this](const boost::system::error_code&) { on_handshake_slot(); }));
}

void connection::on_handshake_slot() {
  if (!awaits_handshake_) {  // woken by the loop's handshake_done: the slot is this one's
    if (timed_out_) {        // (and the deadline passed meanwhile)
      loop_.handshake_done();
      return connect_failed(stats::error_kind::connect_timeout);
    }
    connect_start_ = clock::now();
    return handshake();
  }
  // Still waiting, without a slot: the deadline passed (expire), the run is stopping, or the
  // loop is being torn down. The queue's entry stays; handshake_done skips it.
  if (loop_.ended) return;
  if (timed_out_) {
    awaits_handshake_ = false;
    return connect_failed(stats::error_kind::connect_timeout);
  }
  if (loop_.stopping && !has_request_) {
    // Nothing to send on it: it ends without a handshake, and without an error (nothing was
    // asked of it; the kind is not counted when no request fails with it).
    awaits_handshake_ = false;
    close_socket();
    return loop_.worker_failed(*this, stats::error_kind::connect_timeout, false,
                               std::chrono::milliseconds(0));
  }
  wait_for_handshake();  // a request rides on it: it keeps its place
}

void connection::handshake() {
  transport_.async_handshake(bind([this](const boost::system::error_code& e) { on_handshake(e); }));
}

void connection::on_handshake(const boost::system::error_code& ec) {
  if (transport_.secure()) loop_.handshake_done();
  if (timed_out_) return connect_failed(stats::error_kind::connect_timeout);
  if (ec) {
    auto f = transport_.failure();
    // A server that speaks no protocol offered (only h2, with --h2) may end the handshake with
    // the no_application_protocol alert instead of choosing none.
    if (loop_.cfg.http == http_version::http2 &&
        f.reason.find("no application protocol") != std::string::npos)
      f = {"the server did not agree to HTTP/2 (" + f.reason + ")",
           "--http auto speaks HTTP/1.1 to it"};
    loop_.tls_failed(std::move(f));
    transport_.close();
    return connect_failed(stats::error_kind::tls);
  }
  // The HTTP the connection speaks: HTTP/2 when asked for on http:// (prior knowledge), or when
  // ALPN chose it; a server that does not agree to a required HTTP/2 fails the connection.
  const auto alpn = transport_.alpn();
  const auto want = loop_.cfg.http;
  h2_ = transport_.secure() ? alpn == "h2" : want == http_version::http2;
  if (want == http_version::http2 && !h2_) {
    loop_.tls_failed({"the server did not agree to HTTP/2 (ALPN: " +
                          (alpn.empty() ? std::string("none") : std::string(alpn)) + ")",
                      "--http auto speaks HTTP/1.1 to it"});
    transport_.close();
    return connect_failed(stats::error_kind::tls);
  }
  if (transport_.secure()) {
    loop_.summary.tls_handshake.record(clock::now() - connect_start_);
    ++(transport_.resumed() ? loop_.summary.tls_resumed : loop_.summary.tls_full);
  }
  ready();
}

void connection::ready() {
  deadline_ = clock::time_point::max();
  backoff_ = std::chrono::milliseconds(0);
  ++loop_.summary.connections_opened;
  connected_ = true;
  served_ = 0;
  number_ = ++loop_.connects;
  loop_.summary.peak_connections =
      std::max<std::uint64_t>(loop_.summary.peak_connections, ++loop_.connected);
  if (h2_) return h2_start();
  if (pipeline_) return p_start();
  if (!has_request_) return loop_.worker_ready(*this);
  send();
}

void connection::connect_failed(stats::error_kind kind) {
  deadline_ = clock::time_point::max();
  const bool had_request = has_request_;
  has_request_ = false;
  if (had_request) {
    loop_.record_error(kind, session_.current());
    loop_.publish();
  }
  // A run bounded by -n spends one request per failed connect, so it cannot spin for long: try
  // again at once. A run bounded only by time backs off (1 ms doubling to 100 ms) so that a
  // refusing server is not hammered in a tight loop for the whole duration.
  if (loop_.cfg.requests == 0)
    backoff_ = std::min(std::chrono::milliseconds(100),
                        std::max(std::chrono::milliseconds(1), backoff_ * 2));
  loop_.worker_failed(*this, kind, had_request,
                      loop_.cfg.requests > 0 ? std::chrono::milliseconds(0) : backoff_);
}

void connection::send() {
  auto& rec = session_.current();
  rec.sent = clock::now();
  if (loop_.pacer) {
    loop_.summary.send_lag.record(rec.sent - rec.due);
    loop_.summary.last_send = rec.sent - loop_.start;
  } else {
    rec.due = rec.sent;
  }
  timed_out_ = false;
  deadline_ = rec.sent + loop_.cfg.timeout;
  write_error_ = {};
  session_.begin();
  write_some();
}

void connection::write_some() {
  auto done =
      bind([this](const boost::system::error_code& ec, std::size_t n) { on_written(ec, n); });
  writing_ = true;
  const auto bufs = session_.write_buffers();
  if (bufs[1].size() == 0) {  // the usual case: one buffer, one send
    transport_.async_write_some(bufs[0], std::move(done));
  } else {
    transport_.async_write_some(bufs, std::move(done));
  }
}

// A server may close an idle keep-alive connection just as a request is written to it (RFC 9112
// 9.3.1). If a connection that already served responses fails before any byte of the next one
// arrives, the request is resent once on a new connection instead of being counted as an error.
bool connection::stale(const boost::system::error_code& ec) const {
  const bool stale_kind = ec == asio::error::eof || ec == asio::error::connection_reset ||
                          ec == asio::error::broken_pipe;
  const auto& rec = session_.current();
  return stale_kind && !timed_out_ && !rec.retried && served_ > 0 && rec.bytes_in == 0;
}

void connection::resend() {
  session_.current().retried = true;
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
  session_.wrote(n);
  if (!session_.all_written()) {
    if (!reading_) read_some();
    return write_some();
  }
  if (!reading_) parse_or_read();
}

void connection::parse_or_read() {
  const auto st = session_.parse();
  if (st == parse_status::done) return complete();
  if (st == parse_status::error) return fail(stats::error_kind::malformed);
  read_some();
}

void connection::read_some() {
  reading_ = true;
  transport_.async_read_some(
      session_.read_buffer(),
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
  // A TLS error before any response on this connection: the server refused it at the end of
  // the handshake (TLS 1.3: an alert such as certificate required, on the first read).
  if (ec && served_ == 0 && session_.current().bytes_in == 0 &&
      classify(ec, false) == stats::error_kind::tls)
    loop_.tls_failed(transport_.failure());
  if (ec == asio::error::eof) {
    const auto st = session_.eof();
    if (st == parse_status::done) return complete();
    if (st == parse_status::error) return fail(stats::error_kind::malformed);
    // No answer at all: if the write had already failed, its error says what happened.
    return fail(write_error_ ? classify(write_error_, false) : stats::error_kind::closed);
  }
  if (ec) return fail(classify(ec, false));
  const bool first = session_.current().bytes_in == 0;
  const auto st = session_.received(n);
  if (st == parse_status::done) return complete();
  if (st == parse_status::error) return fail(stats::error_kind::malformed);
  // The first byte's time, read only when the response needs more than this read: a response
  // that came whole takes its completion time (no clock read of its own on the hot path).
  if (first) session_.current().first_byte = clock::now();
  read_some();
}

void connection::complete() {
  const auto done = clock::now();
  auto& rec = session_.current();
  if (rec.first_byte == clock::time_point{}) rec.first_byte = done;
  deadline_ = clock::time_point::max();
  loop_.summary.advance(done - loop_.start);
  loop_.record_response(session_.status(), rec, rec.bytes_in, done);
  loop_.summary.ttfb.record(rec.first_byte - rec.sent);
  ++served_;
  loop_.publish();
  // Bytes beyond the response were sent before any request asked for them: the next response
  // on this connection could not be told from them, so the connection ends here.
  const bool unsolicited = session_.leftover();
  if (unsolicited) ++loop_.summary.unsolicited;
  // After 101 Switching Protocols the connection no longer speaks HTTP/1.1; a request still
  // being written cannot be finished either.
  if (!loop_.cfg.keepalive || !session_.keep_alive() || unsolicited || session_.status() == 101 ||
      !session_.all_written())
    close_socket();
  settle();
}

void connection::fail(stats::error_kind kind) {
  deadline_ = clock::time_point::max();
  loop_.record_error(kind, session_.current());
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
  loop_.worker_done();
}

}  // namespace hit::http::detail

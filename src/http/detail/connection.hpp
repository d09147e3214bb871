#pragma once
// connection: one worker of the engine, with the lifecycle of hit::flow's workers: connect and
// secure (before), run requests (process), close (after). It owns a transport (TCP or TLS: the
// bytes) and a session (HTTP/1.1 or HTTP/2: the requests) and knows only the lifecycle:
// connect, secure, deadlines and their expiry, reconnect back-off, the stale keep-alive retry,
// accounting into its loop's summary. It talks to its loop through the loop's worker interface
// (take_request, worker_free / worker_ready / worker_failed / worker_done). HTTP/1.1 in
// connection.cpp; pipelined HTTP/1.1 (--pipeline) in connection_pipeline.cpp; HTTP/2, where one
// connection carries many requests, in connection_http2.cpp.
//
// A chain of completion handlers on the owning loop's thread. HTTP/1.1: one operation in flight
// (two while a request too large for one write is read from as it is written). Pipelined
// HTTP/1.1 and HTTP/2: a read always pending, and a write while bytes are queued. Buffers and
// handler memory are allocated once, when the run starts.
//
// Thread safety: none; the owning loop's thread only.

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "detail/handler_memory.hpp"
#include "detail/http1_pipeline.hpp"
#include "detail/http1_session.hpp"
#include "detail/http2_session.hpp"
#include "detail/transport.hpp"
#include "hit/stats/error_kind.hpp"

namespace hit::http::detail {

using timer_type = asio::basic_waitable_timer<clock, asio::wait_traits<clock>, executor>;

struct event_loop;

class connection {
 public:
  explicit connection(event_loop& l);
  // Closed model: take requests from the loop until there are none.
  void start() { next(); }
  // Open model: connect without a request (the loop's worker_ready follows).
  void open();
  // Send this request now (connecting first if the socket is closed): the open model's due
  // requests, and (both models) `rec`, one sent before and to be sent again (the loop's
  // resends: refused by an HTTP/2 server, or unanswered on a lost pipelined connection).
  void run(clock::time_point due);
  void run(const in_flight& rec);
  [[nodiscard]] bool is_open() const { return transport_.is_open(); }
  // Open model: it can take a request now (HTTP/1.1: it is idle; HTTP/2: a stream is free).
  [[nodiscard]] bool can_take() const;
  // It carries several requests at once (HTTP/2), and stays in the idle list while it can take.
  [[nodiscard]] bool multiplexed() const { return h2_ && connected_; }
  // Requests are in flight on it (HTTP/2; an idle HTTP/1.1 connection has none).
  [[nodiscard]] bool busy() const { return h2_ && http2_->open_streams() > 0; }
  bool listed = false;  // open model: in the pool's idle list
  // The loop's number for the current connection (0 while not connected).
  [[nodiscard]] std::uint64_t number() const { return connected_ ? number_ : 0; }
  // Open model: closes an idle connection (the worker's `after`).
  void close() { close_socket(); }
  clock::time_point idle_since{};
  // Open model: the connection joins the idle list (its next request checks for bytes the
  // server sent meanwhile).
  void went_idle(clock::time_point now) {
    idle_since = now;
    waited_ = true;
  }
  // Called by the loop's sweep: closes the socket if the current connect or request is past its
  // deadline, which completes the pending operation with an error counted as a timeout.
  void expire(clock::time_point now);
  // Ends a pacing, back-off or handshake-slot wait early (the loop is stopping).
  void wake() { timer_.cancel(); }
  // The loop's handshake_done: a handshake slot is free. False if this connection no longer
  // waits for one (its wait was ended by wake(), at the run's stop).
  bool wake_for_handshake() {
    if (!awaits_handshake_) return false;
    awaits_handshake_ = false;
    timer_.cancel();
    return true;
  }
  // Closed model, from the loop's worker_free: send the request due then (after a pacing wait
  // when it is in the future), or end when there is none.
  void take(std::optional<clock::time_point> due);
  // Closed model, from the loop's worker_failed: ask for the next request after `wait`.
  void retry_after(std::chrono::milliseconds wait);

 private:
  void next();
  void start_request(const in_flight& rec);
  void begin_connect();
  void connect_next();
  void on_connect(const boost::system::error_code& ec);
  void open_tunnel();
  void read_tunnel_reply();
  void on_tunnel_reply(const boost::system::error_code& ec);
  void tunnel_failed(std::string why);
  void connected();
  void wait_for_handshake();
  void on_handshake_slot();
  void handshake();
  void on_handshake(const boost::system::error_code& ec);
  void connect_failed(stats::error_kind kind);
  void ready();
  void send();
  void write_some();
  void on_written(const boost::system::error_code& ec, std::size_t n);
  void parse_or_read();
  void read_some();
  void settle();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void complete();
  void fail(stats::error_kind kind);
  [[nodiscard]] bool stale(const boost::system::error_code& ec) const;
  void resend();
  void finish();
  void close_socket();
  // A handler that takes its operation's memory from the connection (no malloc per request).
  template <class F>
  auto bind(F&& f) {
    return asio::bind_allocator(handler_allocator<int>(memory_), std::forward<F>(f));
  }
  template <class F>
  auto bind_write(F&& f) {  // HTTP/2's writes, pending beside its read
    return asio::bind_allocator(handler_allocator<int>(write_memory_), std::forward<F>(f));
  }
  template <class F>
  auto bind_flush(F&& f) {  // HTTP/2's posted flush, pending beside its read and write
    return asio::bind_allocator(handler_allocator<int>(flush_memory_), std::forward<F>(f));
  }

  // Pipelined HTTP/1.1 (connection_pipeline.cpp).
  void p_start();
  void p_push(const in_flight& rec);
  void p_take(std::optional<clock::time_point> due);
  void p_fill(clock::time_point now);
  void p_flush(clock::time_point now);
  void p_on_written(const boost::system::error_code& ec, std::size_t n);
  void p_read();
  void p_on_read(const boost::system::error_code& ec, std::size_t n);
  void p_answered(clock::time_point now);
  void p_lost(stats::error_kind kind, boost::system::error_code ec, bool clean);
  void p_settle();
  void p_expire(clock::time_point now);

  // HTTP/2 (connection_http2.cpp).
  void h2_start();
  void h2_take(std::optional<clock::time_point> due);
  void h2_paced(const in_flight& rec);
  void h2_submit(in_flight rec);
  void h2_fill(bool flush = true);
  void h2_flush();
  void h2_read();
  void h2_on_read(const boost::system::error_code& ec, std::size_t n);
  void h2_on_written(const boost::system::error_code& ec, std::size_t n);
  void h2_count(clock::time_point now);
  void h2_check_end();
  void h2_lost(stats::error_kind kind);
  void h2_close();
  void h2_closed();
  void h2_expire(clock::time_point now);

  event_loop& loop_;
  transport transport_;
  http1_session session_;
  timer_type timer_;         // pacing, reconnect back-off and handshake-slot waits
  std::size_t attempt_ = 0;  // endpoint being tried by the current connect
  clock::time_point connect_start_{};
  std::string tunnel_reply_;  // the proxy's answer to CONNECT, while it is read
  // A templated request's bytes (allocated once, the loop's template_size; null without).
  std::unique_ptr<char[]> rendered_;
  clock::time_point deadline_ = clock::time_point::max();  // of the current connect or request
  bool timed_out_ = false;
  bool awaits_handshake_ = false;  // in the loop's handshake_queue, on timer_
  bool has_request_ = false;       // a request is assigned (false while only connecting)
  bool connected_ = false;         // the transport is ready (counted in connections_closed)
  bool writing_ = false;           // a write of the current request is pending
  bool reading_ = false;           // a read for the current request is pending
  bool over_ = false;              // the request has its result; waiting for the other operation
  bool resend_ = false;            // with over_: resend the request (stale) instead of the next one
  boost::system::error_code write_error_;  // a write that failed while a read was pending
  bool waited_ = false;                    // the connection sat idle since its last request
  std::uint64_t served_ = 0;               // responses on this socket since it connected
  std::uint64_t number_ = 0;               // the loop's number for this socket's connection
  std::chrono::milliseconds backoff_{0};
  handler_memory memory_;
  std::unique_ptr<http1_pipeline> pipeline_;  // --pipeline above 1: HTTP/1.1 is pipelined
  // HTTP/2.
  std::unique_ptr<http2_session> http2_;  // when the run may speak HTTP/2
  bool h2_ = false;                       // the current (or last) connection speaks HTTP/2
  bool drained_ = false;  // the loop has no more new requests for it (closed model; pipeline too)
  bool paced_ = false;    // a request taken waits for its due time (timer_)
  // In h2_fill or p_fill: requests given meanwhile are written at its end.
  bool filling_ = false;
  // HTTP/2 and pipeline: lost or gone away; once no operation is pending, ask for work.
  bool after_close_ = false;
  std::uint64_t submitted_ = 0;  // requests started (the fill loop's progress; pipeline too)
  bool flush_posted_ = false;    // a flush waits behind the loop's ready handlers
  handler_memory write_memory_;  // writes run beside the always-pending read
  handler_memory flush_memory_;
  handler_memory timer_memory_;  // HTTP/2's pacing wait, pending beside its read
};

}  // namespace hit::http::detail

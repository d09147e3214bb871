// One connection's life: connect before the first request, then send a request and read its
// response, one at a time, until the loop has no more work; close at the end. Everything here
// runs on the owning loop's thread.
//
// Hot path per request: one write of the prebuilt request bytes, reads straight into the
// connection's own buffer (Asio tries the read at once before waiting on epoll), a parse that
// copies nothing, two clock reads, and counter updates in the loop's own summary. No
// allocation: coroutine frames come from Asio's per-thread recycling allocator.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "detail/classify.hpp"
#include "detail/event_loop.hpp"

namespace hit::http::detail {
namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t buffer_size = 8192;  // also the largest response header accepted (wrk: 8 KiB)

void close_socket(connection& c) {
  boost::system::error_code ignored;
  c.socket.close(ignored);
  c.buffered = 0;
}

void fail(connection& c, stats::error_kind kind) {
  c.deadline = clock::time_point::max();
  c.loop.summary.record_error(kind);
  c.loop.publish();
  close_socket(c);
}

// The `before` of the connection's lifecycle. Tries the endpoint that last worked first.
asio::awaitable<std::optional<stats::error_kind>> connect(connection& c) {
  event_loop& l = c.loop;
  c.timed_out = false;
  c.deadline = clock::now() + l.cfg.timeout;
  boost::system::error_code last;
  for (std::size_t i = 0; i < l.endpoints.size() && !c.timed_out; ++i) {
    const std::size_t idx = (l.preferred_endpoint + i) % l.endpoints.size();
    auto [ec] = co_await c.socket.async_connect(l.endpoints[idx], use_tuple);
    if (!ec && !c.timed_out) {
      l.preferred_endpoint = idx;
      c.socket.set_option(asio::ip::tcp::no_delay(true), ec);
      c.deadline = clock::time_point::max();
      c.backoff = std::chrono::milliseconds(0);
      ++l.summary.connections_opened;
      co_return std::nullopt;
    }
    last = ec;
    close_socket(c);
  }
  c.deadline = clock::time_point::max();
  co_return c.timed_out ? stats::error_kind::connect_timeout : classify(last, true);
}

// Reads until the parser has a whole response. Returns the bytes it read, or the error kind.
asio::awaitable<std::optional<stats::error_kind>> read_response(connection& c,
                                                                std::uint64_t& bytes_in) {
  c.parser.reset(c.loop.cfg.head);
  for (;;) {
    if (c.buffered > 0) {
      std::size_t used = 0;
      const auto st = c.parser.feed({c.buffer.data(), c.buffered}, used);
      if (used > 0) {
        c.buffered -= used;
        if (c.buffered > 0) std::memmove(c.buffer.data(), c.buffer.data() + used, c.buffered);
      }
      if (st == parse_status::done) co_return std::nullopt;
      if (st == parse_status::error) co_return stats::error_kind::malformed;
      if (c.buffered == c.buffer.size()) co_return stats::error_kind::malformed;  // header > buffer
    }
    auto [ec, n] = co_await c.socket.async_read_some(
        asio::buffer(c.buffer.data() + c.buffered, c.buffer.size() - c.buffered), use_tuple);
    if (ec == asio::error::eof) {
      if (c.parser.feed_eof() == parse_status::done) co_return std::nullopt;
      co_return c.parser.got_header() ? stats::error_kind::malformed : stats::error_kind::closed;
    }
    if (ec) co_return classify(ec, false);
    c.buffered += n;
    bytes_in += n;
  }
}

}  // namespace

connection::connection(event_loop& l)
    : loop(l), socket(l.io), timer(l.io), parser(buffer_size), buffer(buffer_size) {}

asio::awaitable<void> run_connection(connection& c) {
  event_loop& l = c.loop;
  const bool paced = l.pacer.has_value();
  while (auto due = l.take_request()) {
    if (paced && *due > clock::now()) {
      c.timer.expires_at(*due);
      co_await c.timer.async_wait(use_tuple);
      if (l.stopping) break;  // taken but never sent: not a request
    }
    if (!c.socket.is_open()) {
      if (auto err = co_await connect(c)) {
        fail(c, *err);
        // Back off before the next attempt so a refusing server is not hammered in a tight
        // loop; the failed attempt was counted above.
        c.backoff = std::min(std::chrono::milliseconds(100),
                             std::max(std::chrono::milliseconds(1), c.backoff * 2));
        c.timer.expires_after(c.backoff);
        co_await c.timer.async_wait(use_tuple);
        continue;
      }
    }

    const auto sent = clock::now();
    const auto intended = paced ? *due : sent;
    if (paced) l.summary.send_lag.record(sent - intended);
    c.timed_out = false;
    c.deadline = sent + l.cfg.timeout;

    auto [wec, written] =
        co_await asio::async_write(c.socket, asio::buffer(l.cfg.request), use_tuple);
    if (wec) {
      fail(c, c.timed_out ? stats::error_kind::timeout : classify(wec, false));
      continue;
    }
    std::uint64_t bytes_in = 0;
    if (auto err = co_await read_response(c, bytes_in)) {
      fail(c, c.timed_out ? stats::error_kind::timeout : *err);
      continue;
    }
    const auto done = clock::now();
    c.deadline = clock::time_point::max();
    l.summary.record_response(c.parser.status(), bytes_in, done - intended, done - sent);
    l.publish();
    if (!l.cfg.keepalive || !c.parser.keep_alive()) close_socket(c);
  }
  // The `after` of the lifecycle.
  close_socket(c);
  if (--l.active == 0) {
    l.sweep.cancel();
    l.end_timer.cancel();
  }
}

}  // namespace hit::http::detail

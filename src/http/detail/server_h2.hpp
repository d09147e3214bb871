#pragma once
// server_h2: HTTP/2 for `hit serve`, one connection at a time. nghttp2's server session knows the
// frames; this drives it with the connection's own I/O (nghttp2_session_mem_recv on what is read,
// nghttp2_session_mem_send into one buffer per write) and answers each stream by its knobs (see
// hit/http/server.hpp). server.cpp calls it once a connection is known to speak HTTP/2: ALPN "h2",
// or the client preface as its first bytes.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "hit/http/server.hpp"

namespace hit::http::detail {

// The client connection preface, which opens every HTTP/2 connection (RFC 9113 §3.4).
inline constexpr std::string_view h2_client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// What every HTTP/2 connection of one server reads: made once before the server runs, shared
// read-only by its threads (stall_left excepted, which must be thread-safe), outlives them all.
struct h2_shared {
  std::uint32_t max_streams = 100;  // SETTINGS_MAX_CONCURRENT_STREAMS, resolved (never 0)
  std::uint32_t goaway_after = 0;   // 0: never
  std::size_t default_size = 14;    // the default body's size
  std::string default_size_text;    // the same, in decimal: the canned content-length
  // Every body (the default, size=) is a prefix of one text repeated without end: `pattern` is
  // that repetition over at least 16 KiB + `period` bytes, `period` the text's length, so a DATA
  // frame (at most 16 KiB) is one copy from here at the right phase, whatever its size.
  std::string pattern;
  std::size_t period = 1;
  // How long a request completing now waits for the configured stall; not set: no stall.
  std::function<std::chrono::nanoseconds()> stall_left;
};

// A server connection's socket: TCP, or a Unix-domain socket (hit serve --listen unix:PATH).
using server_socket = boost::asio::generic::stream_protocol::socket;

// Serves HTTP/2 on a connection until it ends: the client closes, an I/O error, a protocol error
// (nghttp2's GOAWAY is sent first), or the end that a GOAWAY of ours announced (close=1,
// goaway_after). `buf` holds the `received` bytes already read (the preface at least, on a
// plain connection; none after ALPN) and is reused as the read buffer. Returns true when the
// server ended the connection with a GOAWAY and the caller should close it politely
// (close_notify, FIN, then let the client close first); false: just close. Runs on the
// connection's strand (the stream's executor); its timers use it too. Never throws for I/O.
boost::asio::awaitable<bool> serve_h2(server_socket& stream, const h2_shared& shared,
                                      std::vector<char>& buf, std::size_t received);
boost::asio::awaitable<bool> serve_h2(boost::asio::ssl::stream<server_socket>& stream,
                                      const h2_shared& shared, std::vector<char>& buf,
                                      std::size_t received);

}  // namespace hit::http::detail

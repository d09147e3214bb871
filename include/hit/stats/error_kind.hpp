#pragma once
// error_kind: why a request got no usable response. Network failures are counted by kind and
// the connection is replaced; they are never thrown (wrk's socket error counts, h2load errors.h).

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hit::stats {

enum class error_kind : std::uint8_t {
  refused,          // connect() was refused: nothing listens on the port
  connect_timeout,  // connect() (and the TLS handshake) did not finish within the timeout
  timeout,          // connected, but the response did not complete within the request timeout
  reset,            // the peer reset the connection (RST, EPIPE) before the response completed
  closed,           // the peer closed the connection cleanly before the response completed
  malformed,        // not valid HTTP/1.1 (or its header was too large), or an HTTP/2 protocol error
  tls,              // TLS failed: the handshake, a refusal alert right after it, a bad record
  stream_reset,     // HTTP/2: the server reset the request's stream (RST_STREAM)
  proxy,            // the proxy (-x) did not open the tunnel: CONNECT refused or badly answered
  other,            // any other socket error (unreachable network, out of descriptors, ...)
};
// (A host that does not resolve is no error kind: the host is resolved once, before the run,
// and the run does not start: exit 1.)

inline constexpr std::size_t error_kind_count = static_cast<std::size_t>(error_kind::other) + 1;

// Stable snake_case names: the JSON keys of errors_by_kind and the labels of the text report.
constexpr std::string_view name(error_kind k) noexcept {
  constexpr std::array<std::string_view, error_kind_count> names = {
      "refused", "connect_timeout", "timeout", "reset", "closed", "malformed",
      "tls",     "stream_reset",    "proxy",   "other"};
  static_assert(names.back() == "other", "one name per error_kind, in order");
  return names[static_cast<std::size_t>(k)];
}

}  // namespace hit::stats

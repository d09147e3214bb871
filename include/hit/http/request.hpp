#pragma once
// request: the bytes of the one request a run sends, built once before the run; the hot path
// only points at them (h2load's config.h1reqs).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hit/http/url.hpp"

namespace hit::http {

struct request_spec {
  std::string method = "GET";  // a token (RFC 9110 5.6.2): cli/options.cpp checks it
  // User headers, in order. Names are tokens and values hold no CR, LF or NUL: the caller
  // checks (cli/options.cpp), since a CR LF in a value would smuggle a second request.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool keepalive = true;  // false: send "Connection: close"
  // Through a forward proxy (an http:// URL with -x): the request line carries the absolute
  // URL, "GET http://host:port/path HTTP/1.1" (RFC 9112 3.2.2), for the proxy to forward.
  bool absolute_form = false;
};

// The request as the engine writes it: `head`, then `body`. A body up to `inline_body_limit`
// is appended to `head`, so a small request is one buffer and one send; a larger one stays in
// `body`, moved from the spec, so that a 100 MB body is held in memory once.
struct request_bytes {
  static constexpr std::size_t inline_body_limit = 64 * 1024;
  std::string head;
  std::string body;
  [[nodiscard]] std::size_t size() const noexcept { return head.size() + body.size(); }
};

// Whether two header names are the same: ASCII letters compare without case (RFC 9110 5.1).
bool iequals(std::string_view a, std::string_view b) noexcept;

// Serialises the request. User headers replace the defaults of the same name (Host,
// User-Agent, Accept); Content-Length is set from the body when there is one, or when the
// method usually carries one (POST, PUT, PATCH). Takes the spec by value: its body is moved.
request_bytes build_request(const url& target, request_spec spec);

}  // namespace hit::http

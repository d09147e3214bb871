#pragma once
// http2_request: the one request a run sends, as HTTP/2 header fields (nghttp2_nv) and a body,
// built once before the run; every stream points at it (h2load's config.nva).

#include <nghttp2/nghttp2.h>

#include <deque>
#include <string>
#include <vector>

#include "hit/http/request.hpp"
#include "hit/http/url.hpp"

namespace hit::http::detail {

struct http2_request {
  std::deque<std::string> strings;  // the fields' names and values (stable addresses)
  std::vector<nghttp2_nv> fields;   // pseudo-headers first, names lower case
  std::string body;                 // sent in DATA frames; empty: HEADERS ends the stream
  bool head = false;                // HEAD: responses carry no body
};

// :method, :scheme, :authority (a user's Host header replaces the URL's), :path, then the
// user's headers in lower case, without the connection-specific ones HTTP/2 forbids
// (Connection, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade, TE); content-length
// when there is a body or the method usually carries one, as for HTTP/1.1.
http2_request build_http2_request(const url& target, const request_spec& spec);

}  // namespace hit::http::detail

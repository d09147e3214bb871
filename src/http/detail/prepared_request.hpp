#pragma once
// prepared_request: one request of a run as the engine sends it, built once before the run:
// its HTTP/1.1 bytes and, when it may go over HTTP/2, its header fields. A run has one, or one
// per target of a targets file (--targets); a request in flight names it by index
// (in_flight::target), so the hot path only points at bytes built before it started.

#include <memory>

#include "detail/http2_request.hpp"
#include "hit/http/request.hpp"
#include "hit/http/request_template.hpp"

namespace hit::http::detail {

struct prepared_request {
  request_bytes http1;  // build_request's bytes (empty when only HTTP/2 is spoken)
  http2_request http2;  // build_http2_request's fields (empty when only HTTP/1.1 is)
  bool head = false;    // HEAD: responses carry no body
  // Set when its bytes vary (--template): rendered per request into the connection's buffer;
  // `http1` is then unused.
  std::shared_ptr<const request_template> varies;
};

}  // namespace hit::http::detail

#pragma once
// request: the bytes of the one request a run sends, built once before the run; the hot path
// only points at them (h2load's config.h1reqs).

#include <string>
#include <utility>
#include <vector>

#include "hit/http/url.hpp"

namespace hit::http {

struct request_spec {
  std::string method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;  // user headers, in order
  std::string body;
  bool keepalive = true;  // false: send "Connection: close"
};

// Serialises the request. User headers replace the defaults of the same name (Host,
// User-Agent, Accept); Content-Length is set from the body when there is one, or when the
// method usually carries one (POST, PUT, PATCH).
std::string build_request(const url& target, const request_spec& spec);

}  // namespace hit::http

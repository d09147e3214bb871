#include "hit/http/request.hpp"

#include <algorithm>
#include <cctype>

#include "hit/version.hpp"

namespace hit::http {

bool iequals(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

request_bytes build_request(const url& target, request_spec spec) {
  auto user_has = [&](std::string_view name) {
    return std::any_of(spec.headers.begin(), spec.headers.end(),
                       [&](const auto& h) { return iequals(h.first, name); });
  };
  const bool inline_body = spec.body.size() <= request_bytes::inline_body_limit;
  std::string r;
  r.reserve(256 + (inline_body ? spec.body.size() : 0));
  r += spec.method;
  r += ' ';
  if (spec.absolute_form) {
    r += target.scheme;
    r += "://";
    r += target.authority;
  }
  r += target.target;
  r += " HTTP/1.1\r\n";
  auto add = [&](std::string_view name, std::string_view value) {
    r += name;
    r += ": ";
    r += value;
    r += "\r\n";
  };
  // Host first (RFC 9112 3.2 asks it of clients): the URL's, or the user's in its place.
  const auto host = std::find_if(spec.headers.begin(), spec.headers.end(),
                                 [](const auto& h) { return iequals(h.first, "host"); });
  if (host == spec.headers.end()) {
    add("Host", target.authority);
  } else {
    add(host->first, host->second);
  }
  if (!user_has("user-agent")) add("User-Agent", "hit/" HIT_VERSION);
  if (!user_has("accept")) add("Accept", "*/*");
  for (auto h = spec.headers.begin(); h != spec.headers.end(); ++h) {
    if (h == host || iequals(h->first, "content-length")) continue;  // (the length: from the body)
    add(h->first, h->second);
  }
  const bool body_method = spec.method == "POST" || spec.method == "PUT" || spec.method == "PATCH";
  if (!spec.body.empty() || body_method) add("Content-Length", std::to_string(spec.body.size()));
  if (!spec.keepalive && !user_has("connection")) add("Connection", "close");
  r += "\r\n";
  if (inline_body) {
    r += spec.body;
    return {std::move(r), {}};
  }
  return {std::move(r), std::move(spec.body)};
}

}  // namespace hit::http

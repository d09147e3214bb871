#pragma once
// url: the parts of a target URL that the engine needs, parsed once per run.

#include <optional>
#include <string>
#include <string_view>

namespace hit::http {

struct url {
  std::string scheme;     // "http" or "https"
  std::string host;       // without brackets for IPv6 literals
  std::string port;       // explicit or the scheme's default
  std::string target;     // origin-form request target: path and query, "/" when empty
  std::string authority;  // the Host header value: host, with the port when not the default
};

// Parses an absolute http:// or https:// URL. On failure returns nullopt and sets `error`
// to a one-line reason.
std::optional<url> parse_url(std::string_view text, std::string& error);

}  // namespace hit::http

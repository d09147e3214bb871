#pragma once
// url: the parts of a target URL that the engine needs, parsed once per run.

#include <string>
#include <string_view>

#include "hit/result.hpp"

namespace hit::http {

struct url {
  std::string scheme;     // "http" or "https"
  std::string host;       // without brackets for IPv6 literals
  std::string port;       // explicit (decimal, 1-65535, no leading zeros) or the scheme's default
  std::string target;     // origin-form request target: path and query, "/" when empty
  std::string authority;  // the Host header value: host, with the port when not the default
};

// Parses an absolute http:// or https:// URL, strictly: the authority is host[:port] where the
// port is 1-65535 in decimal, and anything after it must start the path ('/'), the query ('?')
// or the fragment ('#', dropped). The failure message quotes the URL with control bytes
// escaped, on one line.
result<url> parse_url(std::string_view text);

}  // namespace hit::http

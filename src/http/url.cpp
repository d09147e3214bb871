#include "hit/http/url.hpp"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/src.hpp>  // Boost.URL compiled into this one translation unit
#include <charconv>

#include "hit/printable.hpp"

namespace hit::http {
namespace {

constexpr std::string_view shape = "use http://HOST[:PORT]/PATH";

failure malformed(std::string_view text, std::string_view why) {
  return failure{"malformed URL '" + printable(text) + "': " + std::string(why)};
}

// The port as typed: decimal digits only, 1-65535. Leading zeros are dropped ("080" is 80).
result<std::string> parse_port(std::string_view text, std::string_view port) {
  unsigned long value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value, 10);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 ||
      value > 65535 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return malformed(text, "the port '" + printable(port) + "' is not a number from 1 to 65535");
  return std::to_string(value);
}

}  // namespace

// Boost.URL parses the grammar, but it is lenient where a load generator must not be: it
// reads "host:99999" as port 34463 (the number wraps at 16 bits) and lets junk after the port
// through into the path. So the authority is split and checked here first, by hand, and
// Boost.URL then parses (and validates) the path and query.
result<url> parse_url(std::string_view text) {
  if (std::any_of(text.begin(), text.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c <= 0x20 || c >= 0x7f;
      }))
    return malformed(text,
                     "it contains a space, a control character or a non-ASCII byte "
                     "(percent-encode them)");
  const auto sep = text.find("://");
  if (sep == std::string_view::npos || sep == 0) return malformed(text, shape);
  url out;
  out.scheme = std::string(text.substr(0, sep));
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https")
    return failure{"unsupported scheme '" + printable(out.scheme) + "' in '" + printable(text) +
                   "': use http:// or https://"};

  const auto rest = text.substr(sep + 3);
  const auto authority = rest.substr(0, rest.find_first_of("/?#"));
  if (authority.find('@') != std::string_view::npos)
    return malformed(text, "user info (user@host) is not supported");
  std::string_view host, port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return malformed(text, "an unclosed '[' in the host");
    host = authority.substr(0, close + 1);
    const auto after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return malformed(text, shape);
    if (!after.empty()) port = after.substr(1);
    if (after == ":") return malformed(text, "an empty port after ':'");
  } else {
    const auto colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      // "::1:8080" is an IPv6 address without its brackets; "127.0.0.1:80:5" is junk.
      const bool ipv6_like =
          authority.find_first_not_of("0123456789abcdefABCDEF:.") == std::string_view::npos &&
          (authority.find("::") != std::string_view::npos ||
           std::count(authority.begin(), authority.end(), ':') >= 3);
      if (ipv6_like)
        return malformed(text, "put an IPv6 address in brackets, e.g. http://[::1]:8080/");
      return malformed(text, "more than one ':' after the host: " + std::string(shape));
    }
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return malformed(text, "an empty port after ':'");
    }
  }
  if (host.empty()) return malformed(text, "no host: " + std::string(shape));
  if (host.find('%') != std::string_view::npos)
    return malformed(text, "a percent-encoded host is not supported: write it plainly");
  const std::string default_port = out.scheme == "https" ? "443" : "80";
  if (!port.empty()) {
    auto p = parse_port(text, port);
    if (!p) return failure{p.error()};
    out.port = *p;
  } else {
    out.port = default_port;
  }

  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) return malformed(text, shape);
  const auto& u = *parsed;
  if (u.host_type() == boost::urls::host_type::ipv6) {
    out.host = std::string(u.host_ipv6_address().to_string());
  } else if (u.host_type() == boost::urls::host_type::ipvfuture) {
    return malformed(text, "an IPvFuture host is not supported");
  } else {
    out.host = std::string(u.encoded_host());
  }
  // The hand split above and Boost.URL must agree; if they do not, the URL is ambiguous.
  if (std::string_view(u.encoded_host()) != host && "[" + out.host + "]" != host)
    return malformed(text, shape);
  out.authority = std::string(host);
  if (out.port != default_port) out.authority += ":" + out.port;
  out.target = std::string(u.encoded_path());
  if (!out.target.empty() && out.target.front() != '/') return malformed(text, shape);
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

}  // namespace hit::http

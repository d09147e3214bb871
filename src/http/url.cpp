#include "hit/http/url.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/src.hpp>  // Boost.URL compiled into this one translation unit

namespace hit::http {

std::optional<url> parse_url(std::string_view text, std::string& error) {
  auto parsed = boost::urls::parse_uri(boost::core::string_view(text.data(), text.size()));
  if (!parsed) {
    error = "malformed URL '" + std::string(text) + "': " + parsed.error().message();
    return std::nullopt;
  }
  const auto& u = *parsed;
  url out;
  out.scheme = std::string(u.scheme());
  for (auto& c : out.scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (out.scheme != "http" && out.scheme != "https") {
    error = "unsupported scheme '" + out.scheme + "' in '" + std::string(text) +
            "': use http:// (https:// is planned)";
    return std::nullopt;
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    error = "malformed URL '" + std::string(text) + "': no host";
    return std::nullopt;
  }
  if (u.has_userinfo()) {
    error = "malformed URL '" + std::string(text) + "': user info is not supported";
    return std::nullopt;
  }
  if (u.host_type() == boost::urls::host_type::ipv6) {
    out.host = std::string(u.host_ipv6_address().to_string());
  } else {
    out.host = std::string(u.encoded_host());
  }
  const std::string default_port = out.scheme == "https" ? "443" : "80";
  if (u.has_port()) {
    if (u.port().empty() || u.port_number() == 0) {
      error = "malformed URL '" + std::string(text) + "': bad port";
      return std::nullopt;
    }
    out.port = std::string(u.port());
  } else {
    out.port = default_port;
  }
  out.authority = std::string(u.encoded_host_and_port());
  if (u.has_port() && out.port == default_port)
    out.authority = std::string(u.encoded_host_address());
  out.target = std::string(u.encoded_path());
  if (out.target.empty()) out.target = "/";
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  return out;
}

}  // namespace hit::http

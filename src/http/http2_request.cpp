#include "detail/http2_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "hit/version.hpp"

namespace hit::http::detail {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

}  // namespace

http2_request build_http2_request(const url& target, const request_spec& spec) {
  http2_request r;
  r.head = spec.method == "HEAD";
  r.body = spec.body;
  auto add = [&](std::string_view name, std::string_view value) {
    const auto& n = r.strings.emplace_back(name);
    const auto& v = r.strings.emplace_back(value);
    r.fields.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(n.data())),
                        reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), n.size(),
                        v.size(), NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE});
  };
  std::string authority = target.authority;
  bool has_agent = false;
  bool has_accept = false;
  for (const auto& [name, value] : spec.headers) {
    const auto n = lower(name);
    if (n == "host") authority = value;
    has_agent = has_agent || n == "user-agent";
    has_accept = has_accept || n == "accept";
  }
  add(":method", spec.method);
  add(":scheme", target.scheme);
  add(":authority", authority);
  add(":path", target.target);
  if (!has_agent) add("user-agent", "hit/" HIT_VERSION);
  if (!has_accept) add("accept", "*/*");
  static constexpr std::array<std::string_view, 8> dropped = {
      "host",    "connection", "keep-alive",    "proxy-connection", "transfer-encoding",
      "upgrade", "te",         "content-length"};
  for (const auto& [name, value] : spec.headers) {
    auto n = lower(name);
    if (std::find(dropped.begin(), dropped.end(), n) != dropped.end()) continue;
    add(n, value);
  }
  const bool body_method = spec.method == "POST" || spec.method == "PUT" || spec.method == "PATCH";
  if (!spec.body.empty() || body_method) add("content-length", std::to_string(spec.body.size()));
  return r;
}

}  // namespace hit::http::detail

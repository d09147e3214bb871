#include "detail/http2_request.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <string_view>

#include "detail/hpack_encoder.hpp"
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
    r.fields.emplace_back(name, value);
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
  hpack_encode(r.fields, r.block);
  hpack_prepare(r.fields, r.refs, r.literals);
  return r;
}

void number_http2_fields(std::span<http2_request* const> requests) {
  std::map<std::pair<std::string_view, std::string_view>, std::uint32_t> ids;
  for (auto* r : requests)
    for (std::size_t i = 0; i < r->refs.size(); ++i)
      if (r->refs[i].static_index == 0)
        r->refs[i].id =
            ids.try_emplace(r->fields[i], static_cast<std::uint32_t>(ids.size())).first->second;
  for (auto* r : requests) r->fields_in_run = static_cast<std::uint32_t>(ids.size());
}

}  // namespace hit::http::detail

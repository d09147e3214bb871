#include "http_syntax.hpp"

#include "hit/http/request.hpp"

#include <algorithm>
#include <cctype>

namespace hit::cli {

bool is_token(std::string_view s) {
  static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           extra.find(ch) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

bool is_framing_header(std::string_view name) {
  return http::iequals(name, "transfer-encoding") || http::iequals(name, "content-length");
}

}  // namespace hit::cli

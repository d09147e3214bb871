#include "http_syntax.hpp"

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
  auto is = [&](std::string_view n) {
    return std::equal(name.begin(), name.end(), n.begin(), n.end(), [](char a, char b) {
      return std::tolower(static_cast<unsigned char>(a)) == b;
    });
  };
  return is("transfer-encoding") || is("content-length");
}

}  // namespace hit::cli

#pragma once
// printable: user input made safe to echo in a one-line message. Control bytes (CR, LF, NUL,
// ESC, ...) and bytes outside ASCII become C escapes (\r, \n, \xff), so a message quoting what
// the user typed stays one line and cannot move the terminal's cursor; long input is cut.

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace hit {

inline std::string printable(std::string_view text, std::size_t limit = 200) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(text.size(), limit) + 8);
  for (const char ch : text) {
    if (out.size() >= limit) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace hit

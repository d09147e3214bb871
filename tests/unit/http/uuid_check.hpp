#pragma once
// Whether text is a version 4 UUID as {{uuid}} writes it: 8-4-4-4-12 lower-case hex digits,
// version nibble 4, variant bits 10. (By hand rather than std::regex, whose GCC 12 headers
// warn falsely of uninitialised members under the ASan preset's -Werror.)

#include <string_view>

namespace hit::test {

inline bool is_uuid_v4(std::string_view s) {
  if (s.size() != 36) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    const char c = s[i];
    if (dash != (c == '-')) return false;
    if (!dash && !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return s[14] == '4' && (s[19] == '8' || s[19] == '9' || s[19] == 'a' || s[19] == 'b');
}

}  // namespace hit::test

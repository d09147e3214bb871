#include "detail/hpack_encoder.hpp"

#include "detail/hpack_static.hpp"

namespace hit::http::detail {

void hpack_integer(std::uint32_t value, unsigned prefix_bits, std::uint8_t first,
                   std::vector<std::uint8_t>& out) {
  const std::uint32_t mask = (1u << prefix_bits) - 1;
  if (value < mask) {
    out.push_back(static_cast<std::uint8_t>(first | value));
    return;
  }
  out.push_back(static_cast<std::uint8_t>(first | mask));
  value -= mask;
  while (value >= 128) {
    out.push_back(static_cast<std::uint8_t>((value & 0x7f) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<std::uint8_t>(value));
}

void hpack_literal(std::string_view s, std::vector<std::uint8_t>& out) {
  hpack_integer(static_cast<std::uint32_t>(s.size()), 7, 0x00, out);  // not Huffman-coded
  out.insert(out.end(), s.begin(), s.end());
}

unsigned hpack_static_index(std::string_view name, std::string_view value, unsigned& name_only) {
  name_only = 0;
  for (unsigned i = 0; i < hpack_static_table.size(); ++i) {
    if (hpack_static_table[i].name != name) continue;
    if (name_only == 0) name_only = i + 1;
    if (hpack_static_table[i].value == value) return i + 1;
  }
  return 0;
}

void hpack_encode(const header_fields& fields, std::vector<std::uint8_t>& out) {
  for (const auto& [name, value] : fields) {
    unsigned name_index = 0;
    if (const unsigned i = hpack_static_index(name, value, name_index); i != 0) {
      hpack_integer(i, 7, 0x80, out);  // indexed field
      continue;
    }
    hpack_integer(name_index, 4, 0x00, out);  // literal without indexing (name index 0: a new name)
    if (name_index == 0) hpack_literal(name, out);
    hpack_literal(value, out);
  }
}

}  // namespace hit::http::detail

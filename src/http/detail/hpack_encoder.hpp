#pragma once
// hpack_encode: a request's header fields as one HPACK block (RFC 7541), built once per target
// and sent as is on every stream. Fields equal to a static table entry are one byte (`:method
// GET`, `:scheme https`, `:path /`); the others are literals without indexing, their names from
// the static table where it has them, their strings not Huffman-coded. Nothing enters the
// server's dynamic table, so the block means the same on any connection, in any order with any
// other target's, whatever table size the server allows.
//
// The price against nghttp2's encoder, which indexes and then refers: a repeated request is
// ~40-60 bytes on the wire instead of ~10 (`:authority`, `user-agent` and the path spelt out
// each time); the gain: no encoding per request at all (nghttp2: ~1 600 instructions a request,
// docs/performance.md).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hit::http::detail {

// Header fields in order, each a name (lower case) and a value.
using header_fields = std::vector<std::pair<std::string, std::string>>;

// Appends the block for `fields` (names in lower case, pseudo-headers first) to `out`.
void hpack_encode(const header_fields& fields, std::vector<std::uint8_t>& out);

// RFC 7541 5.1: `value` as an integer with an N-bit prefix, the first byte's other bits `first`.
void hpack_integer(std::uint32_t value, unsigned prefix_bits, std::uint8_t first,
                   std::vector<std::uint8_t>& out);
// RFC 7541 5.2: `s` as a string literal, not Huffman-coded.
void hpack_literal(std::string_view s, std::vector<std::uint8_t>& out);

// The static table's index of `name` with `value` (exact), or 0; of `name` alone in `name_only`.
unsigned hpack_static_index(std::string_view name, std::string_view value, unsigned& name_only);

}  // namespace hit::http::detail

#include "detail/hpack_decoder.hpp"

#include "detail/hpack_static.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <limits>

namespace hit::http::detail {
namespace {

hpack_string plain(std::string_view s) {
  return {{reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}, false, s.size()};
}

// RFC 7541 Appendix B: the code's length in bits for each symbol (256 is EOS). The code is
// canonical (codes of one length are consecutive, in symbol order, and follow the shorter
// ones), so the lengths are the whole code.
constexpr std::array<std::uint8_t, 257> huffman_bits{
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,  //
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,  //
    6,  10, 10, 12, 13, 6,  8,  11, 10, 10, 8,  11, 8,  6,  6,  6,   //
    5,  5,  5,  6,  6,  6,  6,  6,  6,  6,  7,  8,  15, 6,  12, 10,  //
    13, 6,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,   //
    7,  7,  7,  7,  7,  7,  7,  7,  8,  7,  8,  13, 19, 13, 14, 6,   //
    15, 5,  6,  5,  6,  5,  6,  6,  6,  5,  7,  7,  6,  6,  6,  5,   //
    6,  7,  6,  5,  5,  6,  7,  7,  7,  7,  7,  15, 11, 14, 13, 28,  //
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,  //
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,  //
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,  //
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,  //
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,  //
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,  //
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,  //
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,  //
    30,
};

// The decoder walks the code's tree four bits at a time: from each internal node (a state) and
// each nibble, the node reached and the symbol completed on the way, if any (the shortest code
// is 5 bits, so a nibble completes at most one). 256 states x 16 nibbles x 3 bytes = 12 KiB.
struct huffman_step {
  std::uint8_t next;  // state after the nibble
  std::uint8_t symbol;
  std::uint8_t flags;
};
constexpr std::uint8_t emits = 1;  // `symbol` was completed
constexpr std::uint8_t fails = 2;  // EOS was completed: a coding error
struct huffman_machine {
  std::array<std::array<huffman_step, 16>, 256> step{};
  // A string may end in a state reached from the root by at most 7 bits, all 1 (EOS's prefix).
  std::array<bool, 256> accepts{};

  huffman_machine() {
    // Canonical codes from the lengths.
    std::array<std::uint32_t, 257> code{};
    std::array<std::uint16_t, 257> order{};
    for (std::uint16_t i = 0; i < 257; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [](auto a, auto b) { return huffman_bits[a] < huffman_bits[b]; });
    std::uint32_t c = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
      if (i > 0) c = (c + 1) << (huffman_bits[order[i]] - huffman_bits[order[i - 1]]);
      code[order[i]] = c;
    }
    // The tree: internal nodes 0..255 (0 the root); a child >= 256 is the leaf of symbol
    // child - 256.
    std::array<std::array<std::uint16_t, 2>, 256> child{};
    std::array<std::uint8_t, 256> depth{};
    std::array<bool, 256> ones{};  // reached by 1 bits only
    ones[0] = true;
    std::uint16_t nodes = 1;
    for (std::uint16_t sym = 0; sym < 257; ++sym) {
      std::uint16_t n = 0;
      for (int b = huffman_bits[sym] - 1; b >= 0; --b) {
        const unsigned bit = (code[sym] >> b) & 1;
        if (b == 0) {
          child[n][bit] = static_cast<std::uint16_t>(256 + sym);
        } else {
          if (child[n][bit] == 0) {
            child[n][bit] = nodes;
            depth[nodes] = static_cast<std::uint8_t>(depth[n] + 1);
            ones[nodes] = ones[n] && bit == 1;
            ++nodes;
          }
          n = child[n][bit];
        }
      }
    }
    for (std::size_t s = 0; s < 256; ++s) accepts[s] = ones[s] && depth[s] <= 7;
    for (std::size_t s = 0; s < 256; ++s)
      for (unsigned nibble = 0; nibble < 16; ++nibble) {
        huffman_step out{};
        std::uint16_t n = static_cast<std::uint16_t>(s);
        for (int b = 3; b >= 0; --b) {
          const std::uint16_t next = child[n][(nibble >> b) & 1];
          if (next >= 256) {
            if (next == 256 + 256) out.flags |= fails;
            out.symbol = static_cast<std::uint8_t>(next - 256);
            out.flags |= emits;
            n = 0;
          } else {
            n = next;
          }
        }
        out.next = static_cast<std::uint8_t>(n);
        step[s][nibble] = out;
      }
  }
};
const huffman_machine& machine() {
  static const huffman_machine m;
  return m;
}

// Walks a Huffman-coded string, calling emit(symbol) for each; false on a coding error.
template <class Emit>
bool huffman_walk(std::span<const std::uint8_t> raw, Emit&& emit) {
  const auto& m = machine();
  std::uint8_t state = 0;
  auto nibble = [&](unsigned n) {
    const huffman_step& s = m.step[state][n];
    if (s.flags & emits) emit(s.symbol);
    state = s.next;
    return (s.flags & fails) == 0;
  };
  for (const std::uint8_t byte : raw)
    if (!nibble(byte >> 4u) || !nibble(byte & 0xfu)) return false;
  return m.accepts[state];
}

// RFC 7541 5.1: an integer with an N-bit prefix at p.
hpack_error integer(const std::uint8_t*& p, const std::uint8_t* end, unsigned prefix_bits,
                    std::uint32_t& out) {
  if (p == end) return hpack_error::truncated;
  const std::uint32_t mask = (1u << prefix_bits) - 1;
  std::uint64_t v = *p++ & mask;
  if (v < mask) {
    out = static_cast<std::uint32_t>(v);
    return hpack_error::none;
  }
  for (unsigned shift = 0;; shift += 7) {
    if (p == end) return hpack_error::truncated;
    if (shift > 28) return hpack_error::bad_integer;
    const std::uint8_t b = *p++;
    v += static_cast<std::uint64_t>(b & 0x7f) << shift;
    if (v > std::numeric_limits<std::uint32_t>::max()) return hpack_error::bad_integer;
    if (!(b & 0x80)) break;
  }
  out = static_cast<std::uint32_t>(v);
  return hpack_error::none;
}

// RFC 7541 5.2: a string literal at p (its bytes stay in the block).
hpack_error string(const std::uint8_t*& p, const std::uint8_t* end, hpack_string& out) {
  if (p == end) return hpack_error::truncated;
  const bool huffman = (*p & 0x80) != 0;
  std::uint32_t n = 0;
  if (const auto e = integer(p, end, 7, n); e != hpack_error::none) return e;
  if (n > hpack_decoder::max_string) return hpack_error::string_too_long;
  if (static_cast<std::size_t>(end - p) < n) return hpack_error::truncated;
  out.raw = {p, n};
  out.huffman = huffman;
  out.size = huffman ? hpack_string::npos : n;
  p += n;
  return hpack_error::none;
}

}  // namespace

hpack_decoder::hpack_decoder(std::uint32_t max_table_size)
    : limit_(std::min(max_table_size, max_table_limit)),
      max_size_(limit_),
      ring_(std::bit_ceil(std::size_t{limit_} / 32 + 1)) {}

std::size_t hpack_decoder::measure(const hpack_string& s) {
  if (!s.huffman) return s.raw.size();
  std::size_t n = 0;
  return huffman_walk(s.raw, [&](std::uint8_t) { ++n; }) ? n : hpack_string::npos;
}

bool hpack_decoder::text(const hpack_string& s, std::string& out) {
  if (!s.huffman) {
    out.append(reinterpret_cast<const char*>(s.raw.data()), s.raw.size());
    return true;
  }
  const std::size_t before = out.size();
  if (huffman_walk(s.raw, [&](std::uint8_t c) { out.push_back(static_cast<char>(c)); }))
    return true;
  out.resize(before);
  return false;
}

hpack_error hpack_decoder::field_at(std::uint32_t index, hpack_field& f) const {
  if (index == 0) return hpack_error::bad_index;
  if (index <= hpack_static_table.size()) {
    const auto& e = hpack_static_table[index - 1];
    f.name = plain(e.name);
    f.value = plain(e.value);
    f.static_index = static_cast<std::uint8_t>(index);
    return hpack_error::none;
  }
  const std::size_t i = index - hpack_static_table.size() - 1;
  if (i >= count_) return hpack_error::bad_index;
  const entry& e = dynamic(i);
  f.name = name_of(e);
  f.value = value_of(e);
  f.static_index = e.static_index;
  return hpack_error::none;
}

hpack_error hpack_decoder::next(const std::uint8_t*& p, const std::uint8_t* end, hpack_field& f,
                                bool first) {
  const std::uint8_t b = *p;
  std::uint32_t index = 0;
  if (b & 0x80) {  // indexed field
    if (const auto e = integer(p, end, 7, index); e != hpack_error::none) return e;
    return field_at(index, f);
  }
  if ((b & 0xe0) == 0x20) {  // dynamic table size update
    if (const auto e = integer(p, end, 5, index); e != hpack_error::none) return e;
    if (!first || index > limit_) return hpack_error::bad_size;
    max_size_ = index;
    evict_to(max_size_);
    return hpack_error::none;
  }
  const bool indexing = (b & 0xc0) == 0x40;  // else without indexing, or never indexed
  if (const auto e = integer(p, end, indexing ? 6 : 4, index); e != hpack_error::none) return e;
  if (index == 0) {
    if (const auto e = string(p, end, f.name); e != hpack_error::none) return e;
  } else if (const auto e = field_at(index, f); e != hpack_error::none) {
    return e;
  }
  if (const auto e = string(p, end, f.value); e != hpack_error::none) return e;
  return indexing ? insert(f) : hpack_error::none;
}

std::size_t hpack_decoder::known_size(const hpack_string& s, bool value,
                                      std::uint8_t static_index) const {
  for (std::size_t i = 0; i < std::min<std::size_t>(count_, 8); ++i) {
    const entry& e = dynamic(i);
    if (value && e.static_index != static_index) continue;
    const hpack_string t = value ? value_of(e) : name_of(e);
    if (t.huffman == s.huffman && t.raw.size() == s.raw.size() &&
        (s.raw.empty() || std::memcmp(t.raw.data(), s.raw.data(), s.raw.size()) == 0))
      return t.size;
  }
  return hpack_string::npos;
}

void hpack_decoder::evict_oldest() {
  const entry& old = slot(head_ - count_);
  size_ -= std::size_t{old.name_size} + old.value_size + 32;
  --count_;
  bytes_begin_ = count_ > 0 ? slot(head_ - count_).offset : bytes_end_;
}

void hpack_decoder::evict_to(std::size_t limit) {
  while (count_ > 0 && size_ > limit) evict_oldest();
  if (count_ == 0) bytes_begin_ = bytes_end_ = 0;
}

hpack_error hpack_decoder::insert(hpack_field& f) {
  // A server repeats its fields (nginx sends `server`, `date`, `content-type` with indexing on
  // every response and never refers to them): a coded string equal to one of the newest
  // entries' has its decoded length, and is not walked again.
  if (f.name.size == hpack_string::npos) f.name.size = known_size(f.name, false, 0);
  if (f.value.size == hpack_string::npos) f.value.size = known_size(f.value, true, f.static_index);
  if (f.name.size == hpack_string::npos) f.name.size = measure(f.name);
  if (f.value.size == hpack_string::npos) f.value.size = measure(f.value);
  if (f.name.size == hpack_string::npos || f.value.size == hpack_string::npos)
    return hpack_error::bad_huffman;
  const std::size_t entry_size = f.name.size + f.value.size + 32;
  // The name may be an entry's that the eviction below drops (RFC 7541 4.4): its bytes stay in
  // bytes_ until the compaction, which keeps them.
  const std::uint8_t* const base = bytes_.data();
  const bool name_in_table =
      !f.name.raw.empty() && f.name.raw.data() >= base && f.name.raw.data() < base + bytes_.size();
  const std::size_t name_offset =
      name_in_table ? static_cast<std::size_t>(f.name.raw.data() - base) : 0;
  if (entry_size > max_size_) {  // larger than the table: it empties it and is not added
    evict_to(0);
    return hpack_error::none;
  }
  // Evict without resetting the buffer (the name's bytes may lie in it).
  while (count_ > 0 && size_ + entry_size > max_size_) evict_oldest();
  const std::size_t need = f.name.raw.size() + f.value.raw.size();
  if (bytes_end_ + need > bytes_.size()) {
    // Compact the live bytes (and the name's) to the front, growing the buffer if they and the
    // new entry do not fit.
    const std::size_t keep = name_in_table ? std::min(bytes_begin_, name_offset) : bytes_begin_;
    const std::size_t live = bytes_end_ - keep;
    if (2 * (live + need) > bytes_.size()) {
      // Twice what is kept, so that compactions (which rewrite every entry's offset) come
      // once per table's worth of insertions.
      std::vector<std::uint8_t> grown(
          std::max({2 * bytes_.size(), 2 * (live + need), std::size_t{1024}}));
      if (live > 0) std::memcpy(grown.data(), bytes_.data() + keep, live);
      bytes_.swap(grown);
    } else {
      if (live > 0) std::memmove(bytes_.data(), bytes_.data() + keep, live);
    }
    for (std::size_t i = 0; i < count_; ++i)
      slot(head_ - 1 - i).offset -= static_cast<std::uint32_t>(keep);
    bytes_begin_ -= keep;
    bytes_end_ -= keep;
    if (name_in_table) f.name.raw = {bytes_.data() + (name_offset - keep), f.name.raw.size()};
  }
  entry e{};
  e.offset = static_cast<std::uint32_t>(bytes_end_);
  e.name_raw = static_cast<std::uint32_t>(f.name.raw.size());
  e.value_raw = static_cast<std::uint32_t>(f.value.raw.size());
  e.name_size = static_cast<std::uint32_t>(f.name.size);
  e.value_size = static_cast<std::uint32_t>(f.value.size);
  e.name_huffman = f.name.huffman;
  e.value_huffman = f.value.huffman;
  e.static_index = f.static_index;
  if (!f.name.raw.empty())
    std::memmove(bytes_.data() + bytes_end_, f.name.raw.data(), f.name.raw.size());
  if (!f.value.raw.empty())
    std::memcpy(bytes_.data() + bytes_end_ + e.name_raw, f.value.raw.data(), f.value.raw.size());
  bytes_end_ += need;
  if (count_ == 0) bytes_begin_ = e.offset;
  slot(head_) = e;
  ++head_;
  ++count_;
  size_ += entry_size;
  return hpack_error::none;
}

}  // namespace hit::http::detail

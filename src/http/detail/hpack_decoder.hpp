#pragma once
// hpack_decoder: HPACK (RFC 7541) header-block decoding for a client that reads few of the
// fields it receives. Every field is walked and the dynamic table is kept exactly as the
// encoder's, but a Huffman-coded string is only measured (its decoded length, which the table's
// size accounting needs, and its validity) when it enters the table, and decoded to text only
// when the caller asks (text()). A string that neither enters the table nor is read is skipped,
// unchecked: a caller that reads one must treat text() == false as the block's
// COMPRESSION_ERROR (RFC 7541 5.2).
//
// Why not nghttp2's inflater: against nginx, whose every response carries four Huffman-coded
// literals with incremental indexing that it never refers to again, nghttp2 decodes and copies
// each of them. On 20 response header blocks captured from nginx 1.22 (h2c, `GET /body`),
// decoded over and over: 5 570 instructions a block with nghttp2_hd_inflate_hd2, 2 130 with this
// decoder (callgrind, the difference of 3 000 and 1 000 rounds). A coded string equal to one
// of the newest entries' takes that entry's length instead of being walked again.
//
// Memory: the dynamic table's strings as received (Huffman-coded or not) in one buffer of twice
// what it has had to hold (~8 KiB for a 4 096-byte table of typical fields; up to ~4x the table
// with strings of long codes), and its entries in a ring (256 for 4 096: 7 KiB); nothing is
// allocated per field once the buffer has grown.
//
// Thread safety: none; one decoder per connection, on its loop's thread.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hit::http::detail {

// A string in a header block or in the table: its bytes as sent, and its length once decoded
// (for a Huffman-coded string in a field that did not enter the table: not known, npos).
struct hpack_string {
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::span<const std::uint8_t> raw;
  bool huffman = false;
  std::size_t size = npos;
};

// One decoded field. `static_index` is the static table's entry its name comes from (1-61), or 0.
// The strings point into the block, the static table or the decoder's table: valid until the
// callback returns.
struct hpack_field {
  hpack_string name;
  hpack_string value;
  std::uint8_t static_index = 0;
};

enum class hpack_error : std::uint8_t {
  none,
  truncated,       // the block ends inside a representation
  bad_integer,     // an integer beyond 2^32
  bad_index,       // index 0, or past the tables
  bad_huffman,     // EOS in a string, or padding that is not the 1 bits of EOS within a byte
  bad_size,        // a table size update above the limit, or after the block's first field
  string_too_long  // a string longer than max_string
};

class hpack_decoder {
 public:
  static constexpr std::size_t max_string = 1 << 20;  // longer literals are refused
  // The largest table this side may announce (the buffer's offsets are 32-bit).
  static constexpr std::uint32_t max_table_limit = 1 << 20;

  // `max_table_size`: the SETTINGS_HEADER_TABLE_SIZE this side announced (4096 by default; at
  // most max_table_limit), for the connection's life.
  explicit hpack_decoder(std::uint32_t max_table_size = 4096);

  // Decodes one whole header block (HEADERS and its CONTINUATIONs joined), calling
  // `on_field(const hpack_field&)` for each field in order. On an error the table is no longer
  // the encoder's: the connection must end (COMPRESSION_ERROR).
  template <class F>
  hpack_error decode(std::span<const std::uint8_t> block, F&& on_field);

  // The text of `s` (Huffman-decoded if it is coded), appended to `out`. False for a bad coding
  // (`out` is then as it was).
  static bool text(const hpack_string& s, std::string& out);
  // Its decoded length, or npos for a bad coding.
  static std::size_t measure(const hpack_string& s);

  // A new connection's decoder: the table empty (its buffers kept).
  void reset() noexcept {
    max_size_ = limit_;
    size_ = 0;
    head_ = 0;
    count_ = 0;
    bytes_begin_ = bytes_end_ = 0;
  }

  [[nodiscard]] std::size_t table_size() const noexcept { return size_; }
  [[nodiscard]] std::size_t table_entries() const noexcept { return count_; }

 private:
  struct entry {
    std::uint32_t offset;  // of the name's raw bytes in bytes_ (the value's follow)
    std::uint32_t name_raw;
    std::uint32_t value_raw;
    std::uint32_t name_size;  // decoded lengths
    std::uint32_t value_size;
    bool name_huffman;
    bool value_huffman;
    std::uint8_t static_index;  // the name came from the static table
  };
  // Reads one representation at p; fills `f`. Returns the error, advancing p.
  hpack_error next(const std::uint8_t*& p, const std::uint8_t* end, hpack_field& f, bool first);
  hpack_error field_at(std::uint32_t index, hpack_field& f) const;
  hpack_error insert(hpack_field& f);
  void evict_oldest();
  void evict_to(std::size_t limit);
  // The ring's slot for a position (head_ and positions count up; the ring's size is a power
  // of two).
  [[nodiscard]] entry& slot(std::size_t position) { return ring_[position & (ring_.size() - 1)]; }
  [[nodiscard]] const entry& dynamic(std::size_t i) const {  // 0 = newest
    return ring_[(head_ - 1 - i) & (ring_.size() - 1)];
  }
  // The decoded length of a coded string equal to one of the newest entries' name, or value
  // (of an entry whose name has the same static index), or npos.
  [[nodiscard]] std::size_t known_size(const hpack_string& s, bool value,
                                       std::uint8_t static_index) const;
  [[nodiscard]] hpack_string name_of(const entry& e) const {
    return {{bytes_.data() + e.offset, e.name_raw}, e.name_huffman, e.name_size};
  }
  [[nodiscard]] hpack_string value_of(const entry& e) const {
    return {{bytes_.data() + e.offset + e.name_raw, e.value_raw}, e.value_huffman, e.value_size};
  }

  std::uint32_t limit_;      // the largest size the encoder may choose
  std::uint32_t max_size_;   // the size it chose (a size update), at most limit_
  std::size_t size_ = 0;     // entries' sizes: decoded lengths + 32 each
  std::vector<entry> ring_;  // the entries: oldest at tail, newest before head_
  std::size_t head_ = 0;     // the next entry's position (wraps through slot())
  std::size_t count_ = 0;
  std::vector<std::uint8_t> bytes_;  // the entries' raw strings, oldest first from bytes_begin_
  std::size_t bytes_begin_ = 0;
  std::size_t bytes_end_ = 0;
};

template <class F>
hpack_error hpack_decoder::decode(std::span<const std::uint8_t> block, F&& on_field) {
  const std::uint8_t* p = block.data();
  const std::uint8_t* const end = p + block.size();
  bool first = true;
  while (p < end) {
    hpack_field f;
    const std::uint8_t kind = *p;
    if (const auto e = next(p, end, f, first); e != hpack_error::none) return e;
    if ((kind & 0xe0) == 0x20) continue;  // a table size update (only before any field)
    first = false;
    on_field(static_cast<const hpack_field&>(f));
  }
  return hpack_error::none;
}

}  // namespace hit::http::detail

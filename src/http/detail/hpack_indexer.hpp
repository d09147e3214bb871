#pragma once
// hpack_indexer: a connection's HPACK encoder for requests whose fields repeat (RFC 7541). A
// request's fields are prepared once per run (hpack_ref: a static table index, or the field's
// literal with incremental indexing and its number among the run's fields); per request, a
// field already in the server's dynamic table is sent as its index (one or two bytes), another
// as its literal, which enters the table. The indexer keeps the table as the server's decoder
// does: which field is where, the sizes, the evictions.
//
// Why: with literals that never enter the table (hpack_encode's block), every request repeats
// `:authority`, `:path`, `user-agent` and `accept` in full, and nginx spent 1.12x the CPU per
// request answering hit that it spent answering h2load, whose nghttp2 encoder indexes
// (docs/performance.md). Indexed, a repeated request is ~6 bytes.
//
// The table stays within 4 096 bytes (the default SETTINGS_HEADER_TABLE_SIZE) and within any
// lower limit the server announces, which is signalled by a size update at the start of the
// next block. A field larger than the table, or beyond the run's first max_fields distinct
// fields (a targets file of many paths), is sent as a literal that does not enter it. Memory: a
// number per indexed field (at most max_fields), a ring of 256 entries.
//
// Thread safety: none; one per connection, on its loop's thread.

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "detail/hpack_encoder.hpp"  // header_fields

namespace hit::http::detail {

// One field of a request, prepared for hpack_indexer.
struct hpack_ref {
  std::uint32_t id = 0;          // its number among the run's distinct fields
  std::uint32_t entry_size = 0;  // its size in a table: name + value + 32 (RFC 7541 4.1)
  std::uint32_t offset = 0;      // its literal with incremental indexing, in the literals
  std::uint32_t length = 0;
  std::uint32_t plain_offset = 0;  // its literal without indexing, after it
  std::uint32_t plain_length = 0;
  std::uint8_t static_index = 0;  // equal to a static table entry (1-61): sent as its index
};

// The refs of `fields` (names in lower case), their literals appended to `literals`; ids are
// the fields' positions (number them across the run with hpack_number_fields).
void hpack_prepare(const header_fields& fields, std::vector<hpack_ref>& refs,
                   std::vector<std::uint8_t>& literals);

class hpack_indexer {
 public:
  static constexpr std::uint32_t default_table_size = 4096;
  static constexpr std::uint32_t max_fields = 4096;  // fields with an id past it: not indexed

  // `fields`: how many distinct fields the run's requests have (ids below it); the first
  // max_fields are indexed.
  explicit hpack_indexer(std::uint32_t fields);

  // A new connection: the server's table is empty, its limit the default.
  void reset() noexcept;
  // The server announced SETTINGS_HEADER_TABLE_SIZE `size`: the table shrinks to it if smaller
  // (signalled at the start of the next block); a larger one is not used.
  void limit(std::uint32_t size) noexcept;

  // Appends the block of a request's fields to `out`: `literals` are the request's
  // (hpack_prepare's).
  void encode(std::span<const hpack_ref> refs, std::span<const std::uint8_t> literals,
              std::vector<std::uint8_t>& out);

  [[nodiscard]] std::uint32_t table_size() const noexcept { return size_; }
  [[nodiscard]] std::uint32_t entries() const noexcept { return count_; }

 private:
  struct entry {
    std::uint32_t id;
    std::uint32_t size;
  };
  void insert(const hpack_ref& f);
  void evict_oldest() noexcept;

  std::vector<std::uint32_t> where_;  // per indexed field: its insertion's number + 1; 0: not in
                                      // the table
  std::vector<entry> ring_;           // the table, oldest at inserted_ - count_
  std::uint32_t inserted_ = 0;        // insertions so far (the newest's number + 1)
  std::uint32_t count_ = 0;
  std::uint32_t size_ = 0;
  std::uint32_t max_ = default_table_size;
  bool size_update_ = false;  // the next block starts with a size update to max_
};

}  // namespace hit::http::detail

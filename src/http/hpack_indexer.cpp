// A connection's HPACK encoder for repeated request fields. See detail/hpack_indexer.hpp.

#include "detail/hpack_indexer.hpp"

#include <algorithm>

#include "detail/hpack_encoder.hpp"

namespace hit::http::detail {
namespace {

// The most entries a table of default_table_size holds (32 bytes each at least), rounded up to
// a power of two.
constexpr std::size_t ring_size = 256;
static_assert(ring_size >= hpack_indexer::default_table_size / 32 + 1);
constexpr std::uint32_t dynamic_base = 62;  // the newest entry's index (RFC 7541 2.3.3)

}  // namespace

void hpack_prepare(const header_fields& fields, std::vector<hpack_ref>& refs,
                   std::vector<std::uint8_t>& literals) {
  for (const auto& [name, value] : fields) {
    hpack_ref r;
    r.id = static_cast<std::uint32_t>(refs.size());
    unsigned name_index = 0;
    r.static_index = static_cast<std::uint8_t>(hpack_static_index(name, value, name_index));
    if (r.static_index == 0) {
      r.entry_size = static_cast<std::uint32_t>(name.size() + value.size() + 32);
      r.offset = static_cast<std::uint32_t>(literals.size());
      hpack_integer(name_index, 6, 0x40, literals);  // literal with incremental indexing
      if (name_index == 0) hpack_literal(name, literals);
      hpack_literal(value, literals);
      r.length = static_cast<std::uint32_t>(literals.size() - r.offset);
      r.plain_offset = static_cast<std::uint32_t>(literals.size());
      hpack_integer(name_index, 4, 0x00, literals);  // literal without indexing
      if (name_index == 0) hpack_literal(name, literals);
      hpack_literal(value, literals);
      r.plain_length = static_cast<std::uint32_t>(literals.size() - r.plain_offset);
    }
    refs.push_back(r);
  }
}

hpack_indexer::hpack_indexer(std::uint32_t fields)
    : where_(std::min(fields, max_fields)), ring_(ring_size) {}

void hpack_indexer::reset() noexcept {
  while (count_ > 0) evict_oldest();  // (only the entries' fields are marked)
  inserted_ = count_ = size_ = 0;
  max_ = default_table_size;
  size_update_ = false;
}

void hpack_indexer::limit(std::uint32_t size) noexcept {
  if (size >= max_) return;
  max_ = size;
  while (count_ > 0 && size_ > max_) evict_oldest();
  size_update_ = true;
}

void hpack_indexer::encode(std::span<const hpack_ref> refs, std::span<const std::uint8_t> literals,
                           std::vector<std::uint8_t>& out) {
  if (size_update_) {
    hpack_integer(max_, 5, 0x20, out);
    size_update_ = false;
  }
  for (const auto& f : refs) {
    if (f.static_index != 0) {
      out.push_back(static_cast<std::uint8_t>(0x80 | f.static_index));
    } else if (f.id >= where_.size() || f.entry_size > max_) {  // stays out of the table
      const auto bytes = literals.subspan(f.plain_offset, f.plain_length);
      out.insert(out.end(), bytes.begin(), bytes.end());
    } else if (const std::uint32_t at = where_[f.id]; at != 0) {
      hpack_integer(dynamic_base + (inserted_ - at), 7, 0x80, out);
    } else {
      const auto bytes = literals.subspan(f.offset, f.length);
      out.insert(out.end(), bytes.begin(), bytes.end());
      insert(f);
    }
  }
}

// As the server's decoder does on reading the literal (RFC 7541 4.4).
void hpack_indexer::insert(const hpack_ref& f) {
  while (count_ > 0 && size_ + f.entry_size > max_) evict_oldest();
  ring_[inserted_ % ring_size] = {f.id, f.entry_size};
  ++inserted_;
  ++count_;
  size_ += f.entry_size;
  where_[f.id] = inserted_;
}

void hpack_indexer::evict_oldest() noexcept {
  const entry& e = ring_[(inserted_ - count_) % ring_size];
  where_[e.id] = 0;
  size_ -= e.size;
  --count_;
}

}  // namespace hit::http::detail

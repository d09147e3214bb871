// Recycled memory for one nghttp2 session. See detail/session_memory.hpp.

#include "detail/session_memory.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace hit::http::detail {
namespace {

// Each block starts with a 16-byte header holding its size class (or `large`), so that free,
// which gets only the pointer, knows where the block goes; the caller's memory follows, aligned
// as malloc's.
constexpr std::size_t header = 16;
constexpr std::size_t large = ~std::size_t{0};

std::size_t& class_of(void* user) noexcept {
  return *reinterpret_cast<std::size_t*>(static_cast<char*>(user) - header);
}

}  // namespace

session_memory::~session_memory() {
  for (block* b : free_)
    while (b != nullptr) {
      block* next = b->next;
      std::free(reinterpret_cast<char*>(b) - header);
      b = next;
    }
}

void* session_memory::allocate(std::size_t size) {
  const std::size_t c = size == 0 ? 0 : (size - 1) / step;
  if (c < classes) {
    if (block* b = free_[c]) {
      free_[c] = b->next;
      return b;
    }
    char* raw = static_cast<char*>(std::malloc(header + (c + 1) * step));
    if (raw == nullptr) return nullptr;
    class_of(raw + header) = c;
    return raw + header;
  }
  char* raw = static_cast<char*>(std::malloc(header + size));
  if (raw == nullptr) return nullptr;
  class_of(raw + header) = large;
  return raw + header;
}

void session_memory::release(void* p) noexcept {
  if (p == nullptr) return;
  const std::size_t c = class_of(p);
  if (c == large) return std::free(static_cast<char*>(p) - header);
  auto* b = static_cast<block*>(p);
  b->next = free_[c];
  free_[c] = b;
}

void* session_memory::reallocate(void* p, std::size_t size) {
  if (p == nullptr) return allocate(size);
  const std::size_t c = class_of(p);
  if (c != large && size <= (c + 1) * step) return p;  // fits where it is
  if (c == large) {
    char* raw = static_cast<char*>(std::realloc(static_cast<char*>(p) - header, header + size));
    return raw == nullptr ? nullptr : raw + header;
  }
  void* q = allocate(size);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, (c + 1) * step);
  release(p);
  return q;
}

void* session_memory::malloc_cb(std::size_t size, void* self) {
  return static_cast<session_memory*>(self)->allocate(size);
}
void session_memory::free_cb(void* p, void* self) {
  static_cast<session_memory*>(self)->release(p);
}
void* session_memory::calloc_cb(std::size_t n, std::size_t size, void* self) {
  if (size != 0 && n > ~std::size_t{0} / size) return nullptr;
  void* p = static_cast<session_memory*>(self)->allocate(n * size);
  if (p != nullptr) std::memset(p, 0, n * size);
  return p;
}
void* session_memory::realloc_cb(void* p, std::size_t size, void* self) {
  return static_cast<session_memory*>(self)->reallocate(p, size);
}

}  // namespace hit::http::detail

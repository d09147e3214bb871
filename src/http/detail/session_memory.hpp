#pragma once
// session_memory: the memory nghttp2 allocates for one connection's session, recycled. nghttp2
// mallocs and frees a handful of small blocks per request (stream objects, header lists, frame
// items): with glibc's allocator that was ~2 200 of a request's ~13 700 instructions
// (callgrind; docs/performance.md). Here freed blocks go to a free list per size class (16-byte
// steps up to 1 KiB) and the next allocation of that class takes one back; larger blocks go to
// malloc. The lists keep what the connection's peak needed, reused across its reconnects, and
// are released with it.
//
// Thread safety: none; the owning loop's thread only (nghttp2 calls it from the session's).

#include <nghttp2/nghttp2.h>

#include <array>
#include <cstddef>

namespace hit::http::detail {

class session_memory {
 public:
  session_memory() = default;
  ~session_memory();
  session_memory(const session_memory&) = delete;
  session_memory& operator=(const session_memory&) = delete;

  // For nghttp2_session_client_new3: valid while this object lives.
  [[nodiscard]] nghttp2_mem* mem() noexcept { return &mem_; }

  void* allocate(std::size_t size);
  void release(void* p) noexcept;
  void* reallocate(void* p, std::size_t size);

 private:
  static constexpr std::size_t step = 16;
  static constexpr std::size_t classes = 64;  // blocks up to 64 x 16 = 1 KiB
  struct block {
    block* next;
  };
  std::array<block*, classes> free_{};
  nghttp2_mem mem_{this, malloc_cb, free_cb, calloc_cb, realloc_cb};

  static void* malloc_cb(std::size_t size, void* self);
  static void free_cb(void* p, void* self);
  static void* calloc_cb(std::size_t n, std::size_t size, void* self);
  static void* realloc_cb(void* p, std::size_t size, void* self);
};

}  // namespace hit::http::detail

#pragma once
// handler_memory: one reusable block per connection for Asio's operation objects, through Asio's
// documented allocator customisation (bind_allocator). A connection has one operation in flight
// (two only while a request too large for one write is read from as it is written; the second
// then takes plain operator new) and Asio frees an operation's memory before calling its handler,
// so one block serves every operation of the connection's life: no malloc per request. (With C++20
// coroutines each co_await of an operation kept a frame alive until completion, and with 50
// connections Asio's per-thread frame cache missed on nearly every request: heaptrack counted
// 0.9 malloc per request. See docs/performance.md.)

#include <cstddef>
#include <new>

namespace hit::http::detail {

class handler_memory {
 public:
  handler_memory() = default;
  handler_memory(const handler_memory&) = delete;
  handler_memory& operator=(const handler_memory&) = delete;

  void* allocate(std::size_t size) {
    if (!in_use_ && size <= sizeof storage_) {
      in_use_ = true;
      return storage_;
    }
    return ::operator new(size);  // a second operation at once, or an unusually large one
  }
  void deallocate(void* p) noexcept {
    if (p == storage_) {
      in_use_ = false;
    } else {
      ::operator delete(p);
    }
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[512];
  bool in_use_ = false;
};

template <class T>
class handler_allocator {
 public:
  using value_type = T;
  explicit handler_allocator(handler_memory& m) noexcept : memory_(&m) {}
  template <class U>
  handler_allocator(const handler_allocator<U>& other) noexcept : memory_(other.memory()) {}

  T* allocate(std::size_t n) { return static_cast<T*>(memory_->allocate(sizeof(T) * n)); }
  void deallocate(T* p, std::size_t) noexcept { memory_->deallocate(p); }
  [[nodiscard]] handler_memory* memory() const noexcept { return memory_; }

  friend bool operator==(const handler_allocator& a, const handler_allocator& b) noexcept {
    return a.memory_ == b.memory_;
  }

 private:
  handler_memory* memory_;
};

}  // namespace hit::http::detail

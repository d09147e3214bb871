#pragma once
// ring: a growable FIFO ring buffer over raw storage, so T needs only to be movable (no default
// constructor), and steady-state push/pop never allocates (std::deque frees and reallocates its
// blocks as a FIFO slides through them).
//
// Thread safety: none; the owner guards it with its own mutex.

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace hit::flow::detail {

template <class T>
class ring {
 public:
  explicit ring(std::size_t initial = 16) { grow_to_(round_up_(initial)); }
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;
  ~ring() {
    clear();
    alloc_.deallocate(buf_, cap_);
  }

  [[nodiscard]] std::size_t size() const { return size_; }
  [[nodiscard]] bool empty() const { return size_ == 0; }

  void push_back(T&& v) {
    if (size_ == cap_) grow_to_(cap_ * 2);
    ::new (static_cast<void*>(buf_ + ((head_ + size_) & (cap_ - 1)))) T(std::move(v));
    ++size_;
  }

  // Used to give back messages a worker took but could not process, ahead of newer ones.
  void push_front(T&& v) {
    if (size_ == cap_) grow_to_(cap_ * 2);
    head_ = (head_ + cap_ - 1) & (cap_ - 1);
    ::new (static_cast<void*>(buf_ + head_)) T(std::move(v));
    ++size_;
  }

  // Precondition: !empty().
  T pop_front() {
    T* p = buf_ + head_;
    T v(std::move(*p));
    p->~T();
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    return v;
  }

  void clear() {
    while (size_ > 0) {
      (buf_ + head_)->~T();
      head_ = (head_ + 1) & (cap_ - 1);
      --size_;
    }
    head_ = 0;
  }

 private:
  static std::size_t round_up_(std::size_t n) {
    std::size_t c = 1;
    while (c < n) c *= 2;
    return c;
  }

  void grow_to_(std::size_t cap) {
    T* fresh = alloc_.allocate(cap);
    for (std::size_t i = 0; i < size_; ++i) {
      T* p = buf_ + ((head_ + i) & (cap_ - 1));
      ::new (static_cast<void*>(fresh + i)) T(std::move(*p));
      p->~T();
    }
    if (buf_ != nullptr) alloc_.deallocate(buf_, cap_);
    buf_ = fresh;
    cap_ = cap;
    head_ = 0;
  }

  std::allocator<T> alloc_;
  T* buf_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace hit::flow::detail

// session_memory: nghttp2's allocator for one session, recycling small blocks by size class.

#include "detail/session_memory.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

using hit::http::detail::session_memory;

TEST(session_memory, a_freed_block_is_reused_by_the_next_of_its_class) {
  session_memory m;
  void* a = m.allocate(40);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(a) % 16, 0u);  // aligned as malloc's
  m.release(a);
  EXPECT_EQ(m.allocate(33), a);  // 33 and 40 are both in the 48-byte class
  void* b = m.allocate(40);      // the list is empty now: a new block
  EXPECT_NE(b, a);
  m.release(b);
  m.release(a);
}

TEST(session_memory, calloc_zeroes_and_realloc_keeps_the_contents) {
  session_memory m;
  nghttp2_mem* mem = m.mem();
  auto* p = static_cast<unsigned char*>(mem->calloc(10, 10, mem->mem_user_data));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p[i], 0);
  std::memset(p, 7, 100);
  auto* q = static_cast<unsigned char*>(mem->realloc(p, 100, mem->mem_user_data));
  EXPECT_EQ(q, p);  // still fits its class (112 bytes)
  q = static_cast<unsigned char*>(mem->realloc(q, 5000, mem->mem_user_data));  // large
  ASSERT_NE(q, nullptr);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(q[i], 7);
  std::memset(q, 9, 5000);
  q = static_cast<unsigned char*>(mem->realloc(q, 9000, mem->mem_user_data));
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q[4999], 9);
  mem->free(q, mem->mem_user_data);
  mem->free(nullptr, mem->mem_user_data);                                        // as free(NULL)
  EXPECT_EQ(mem->calloc(std::size_t{1} << 62, 8, mem->mem_user_data), nullptr);  // overflow
}

TEST(session_memory, a_session_runs_on_it_and_gives_everything_back) {
  session_memory m;
  nghttp2_session_callbacks* cb = nullptr;
  ASSERT_EQ(nghttp2_session_callbacks_new(&cb), 0);
  nghttp2_session* s = nullptr;
  ASSERT_EQ(nghttp2_session_client_new3(&s, cb, nullptr, nullptr, m.mem()), 0);
  const nghttp2_nv nv[] = {{(std::uint8_t*)":method", (std::uint8_t*)"GET", 7, 3, 0},
                           {(std::uint8_t*)":path", (std::uint8_t*)"/", 5, 1, 0},
                           {(std::uint8_t*)":scheme", (std::uint8_t*)"http", 7, 4, 0},
                           {(std::uint8_t*)":authority", (std::uint8_t*)"x", 10, 1, 0}};
  for (int i = 0; i < 50; ++i)
    EXPECT_GT(nghttp2_submit_request(s, nullptr, nv, 4, nullptr, nullptr), 0);
  const std::uint8_t* out = nullptr;
  while (nghttp2_session_mem_send(s, &out) > 0) {
  }
  nghttp2_session_del(s);  // every block back in the lists or to malloc (ASan: no leak)
  nghttp2_session_callbacks_del(cb);
}

// hpack_encode's blocks read by a decoder nobody on the project wrote (nghttp2's public
// inflater), the same block many times on one connection as the client sends it, and by
// hpack_decoder; static table fields take one byte and nothing enters the decoder's table.

#include "detail/hpack_encoder.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <random>
#include <string>
#include <vector>

#include "detail/hpack_decoder.hpp"
#include "nghttp2_inflate.hpp"

namespace {

using namespace hit::http::detail;
using hit::test::fields;
using hit::test::inflate;

TEST(hpack_encode, nghttp2_and_hpack_decoder_read_back_every_field_every_time) {
  const fields request{{":method", "GET"},
                       {":scheme", "https"},
                       {":authority", "example.test:8443"},
                       {":path", "/"},
                       {"user-agent", "hit/0.1"},
                       {"accept", "*/*"},
                       {"x-long", std::string(300, 'v')},  // lengths past one prefix byte
                       {std::string(130, 'n'), "v"}};
  std::vector<std::uint8_t> block;
  hpack_encode(request, block);
  EXPECT_EQ(block[0], 0x82);  // :method GET, indexed
  EXPECT_EQ(block[1], 0x87);  // :scheme https
  nghttp2_hd_inflater* in = nullptr;
  ASSERT_EQ(nghttp2_hd_inflate_new(&in), 0);
  hpack_decoder ours;
  for (int i = 0; i < 3; ++i) {  // the same bytes, stream after stream
    EXPECT_EQ(inflate(in, block), request);
    fields got;
    ASSERT_EQ(ours.decode(block,
                          [&](const hpack_field& f) {
                            std::string n, v;
                            hpack_decoder::text(f.name, n);
                            hpack_decoder::text(f.value, v);
                            got.emplace_back(n, v);
                          }),
              hpack_error::none);
    EXPECT_EQ(got, request);
  }
  EXPECT_EQ(nghttp2_hd_inflate_get_num_table_entries(in), 61u);  // the static table alone
  EXPECT_EQ(ours.table_entries(), 0u);
  nghttp2_hd_inflate_del(in);
}

TEST(hpack_encode, random_fields_round_trip_through_nghttp2) {
  std::mt19937 rng(3);
  nghttp2_hd_inflater* in = nullptr;
  ASSERT_EQ(nghttp2_hd_inflate_new(&in), 0);
  const char* names[] = {":method", ":path", "accept-encoding", "content-length", "x-a", "cookie"};
  const char* values[] = {"GET", "POST", "/", "/index.html", "gzip, deflate", "", "12"};
  for (int round = 0; round < 500; ++round) {
    fields f;
    for (std::size_t i = 0, n = rng() % 8; i < n; ++i) {
      std::string v = values[rng() % 7];
      if (rng() % 3 == 0) v = std::string(rng() % 200, static_cast<char>('a' + rng() % 26));
      f.emplace_back(names[rng() % 6], v);
    }
    std::vector<std::uint8_t> block;
    hpack_encode(f, block);
    ASSERT_EQ(inflate(in, block), f) << round;
  }
  nghttp2_hd_inflate_del(in);
}

TEST(hpack_encode, every_length_up_to_300_round_trips) {
  // Integers at and around the prefix boundaries (127 for string lengths, 15 for name indexes).
  nghttp2_hd_inflater* in = nullptr;
  ASSERT_EQ(nghttp2_hd_inflate_new(&in), 0);
  for (std::size_t n = 0; n <= 300; ++n) {
    const fields f{{"x-len", std::string(n, 'q')}, {std::string(n + 1, 'k'), "v"}, {"via", "1"}};
    std::vector<std::uint8_t> block;
    hpack_encode(f, block);
    ASSERT_EQ(inflate(in, block), f) << n;
  }
  nghttp2_hd_inflate_del(in);
}

TEST(hpack_encode, static_indexes) {
  unsigned name_only = 0;
  EXPECT_EQ(hpack_static_index(":status", "404", name_only), 13u);
  EXPECT_EQ(name_only, 8u);
  EXPECT_EQ(hpack_static_index("accept-encoding", "gzip, deflate", name_only), 16u);
  EXPECT_EQ(hpack_static_index("accept-encoding", "br", name_only), 0u);
  EXPECT_EQ(name_only, 16u);
  EXPECT_EQ(hpack_static_index("www-authenticate", "x", name_only), 0u);
  EXPECT_EQ(name_only, 61u);
  EXPECT_EQ(hpack_static_index("x-unknown", "", name_only), 0u);
  EXPECT_EQ(name_only, 0u);
}

}  // namespace

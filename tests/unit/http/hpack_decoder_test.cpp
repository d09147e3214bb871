// hpack_decoder against an encoder nobody on the project wrote: nghttp2's public deflater
// (nghttp2_hd_deflate_hd) encodes header lists, with its dynamic table, Huffman coding where it
// is shorter and eviction under a small table; every field must come back as it went in. Then
// the ways a block is malformed, built by hand from RFC 7541's representations.

#include "detail/hpack_decoder.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <random>
#include <string>
#include <utility>
#include <vector>

namespace {

using hit::http::detail::hpack_decoder;
using hit::http::detail::hpack_error;
using hit::http::detail::hpack_field;
using hit::http::detail::hpack_string;
using header_list = std::vector<std::pair<std::string, std::string>>;

class deflater {
 public:
  explicit deflater(std::size_t table_size) {
    if (nghttp2_hd_deflate_new(&d_, table_size) != 0) throw std::bad_alloc();
  }
  ~deflater() { nghttp2_hd_deflate_del(d_); }
  deflater(const deflater&) = delete;
  deflater& operator=(const deflater&) = delete;
  // `no_index`: as never-indexed literals (nghttp2 adds nothing to its table for them).
  std::vector<std::uint8_t> encode(const header_list& h, bool no_index = false) {
    std::vector<nghttp2_nv> nv;
    for (const auto& [n, v] : h)
      nv.push_back({const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(n.data())),
                    const_cast<std::uint8_t*>(reinterpret_cast<const std::uint8_t*>(v.data())),
                    n.size(), v.size(),
                    static_cast<std::uint8_t>(no_index ? NGHTTP2_NV_FLAG_NO_INDEX : 0)});
    std::vector<std::uint8_t> out(nghttp2_hd_deflate_bound(d_, nv.data(), nv.size()));
    const auto n = nghttp2_hd_deflate_hd(d_, out.data(), out.size(), nv.data(), nv.size());
    if (n < 0) throw std::runtime_error(nghttp2_strerror(static_cast<int>(n)));
    out.resize(static_cast<std::size_t>(n));
    return out;
  }
  void change_table_size(std::size_t n) { nghttp2_hd_deflate_change_table_size(d_, n); }

 private:
  nghttp2_hd_deflater* d_ = nullptr;
};

std::string text(const hpack_string& s) {
  std::string out;
  EXPECT_TRUE(hpack_decoder::text(s, out));
  return out;
}

hpack_error decode_into(hpack_decoder& d, const std::vector<std::uint8_t>& block,
                        header_list& out) {
  out.clear();
  return d.decode(block,
                  [&](const hpack_field& f) { out.emplace_back(text(f.name), text(f.value)); });
}

// Names and values drawn mostly from common characters (so that Huffman wins and is used) with
// now and then any byte at all (the long codes), or repeated from earlier lists (indexed).
header_list random_headers(std::mt19937& rng, std::vector<header_list>& earlier) {
  const std::string common = "abcdefghijklmnopqrstuvwxyz0123456789-_/.:; ";
  auto word = [&](std::size_t max, bool any) {
    std::string s(rng() % max, ' ');
    for (auto& c : s)
      c = any && rng() % 8 == 0 ? static_cast<char>(rng() % 256) : common[rng() % common.size()];
    return s;
  };
  header_list h;
  const std::size_t n = 1 + rng() % 12;
  for (std::size_t i = 0; i < n; ++i) {
    if (!earlier.empty() && rng() % 3 == 0) {
      const auto& e = earlier[rng() % earlier.size()];
      h.push_back(e[rng() % e.size()]);  // an earlier field again: the table's index
    } else if (rng() % 4 == 0) {
      static const char* known[] = {":status", "content-length", "date", "server", "content-type"};
      h.emplace_back(known[rng() % 5], word(40, true));  // a static table name
    } else {
      std::string name = word(20, false);
      if (name.empty() || name[0] == ':') name = "x" + name;
      h.emplace_back(name, word(200, true));
    }
  }
  earlier.push_back(h);
  return h;
}

TEST(hpack_decoder, every_field_of_thousands_of_blocks_comes_back_as_nghttp2_encoded_it) {
  for (const std::size_t table : {4096u, 256u, 64u}) {
    std::mt19937 rng(static_cast<unsigned>(table));
    deflater enc(table);
    hpack_decoder dec(4096);  // announces 4096; the encoder chose less: a size update tells
    std::vector<header_list> earlier;
    header_list got;
    for (int block = 0; block < 2000; ++block) {
      const auto h = random_headers(rng, earlier);
      const auto bytes = enc.encode(h, block % 7 == 3);
      ASSERT_EQ(decode_into(dec, bytes, got), hpack_error::none)
          << "table " << table << " block " << block;
      ASSERT_EQ(got, h) << "table " << table << " block " << block;
      EXPECT_LE(dec.table_size(), table);
      if (earlier.size() > 50) earlier.erase(earlier.begin());
    }
  }
}

TEST(hpack_decoder, a_table_size_change_mid_connection_evicts_as_the_encoder_did) {
  std::mt19937 rng(7);
  deflater enc(4096);
  hpack_decoder dec(4096);
  std::vector<header_list> earlier;
  header_list got;
  for (int block = 0; block < 600; ++block) {
    if (block % 100 == 50) enc.change_table_size(block % 200 == 50 ? 100 : 4096);
    const auto h = random_headers(rng, earlier);
    ASSERT_EQ(decode_into(dec, enc.encode(h), got), hpack_error::none) << block;
    ASSERT_EQ(got, h) << block;
    if (earlier.size() > 50) earlier.erase(earlier.begin());
  }
}

TEST(hpack_decoder, a_field_that_enters_the_table_is_measured_and_one_that_does_not_is_skipped) {
  // nginx's way: literals with incremental indexing, Huffman-coded.
  deflater enc(4096);
  hpack_decoder dec;
  const header_list h{{":status", "200"}, {"server", "nginx/1.22.1"}, {"x-trace", "abcdefghij"}};
  std::vector<hpack_field> fields;
  ASSERT_EQ(dec.decode(enc.encode(h), [&](const hpack_field& f) { fields.push_back(f); }),
            hpack_error::none);
  ASSERT_EQ(fields.size(), 3u);
  EXPECT_EQ(fields[0].static_index, 8);  // indexed: :status 200
  EXPECT_EQ(fields[1].static_index, 54);
  EXPECT_TRUE(fields[1].value.huffman);
  EXPECT_EQ(fields[1].value.size, 12u);  // entered the table: its decoded length is known
  EXPECT_EQ(dec.table_entries(), 2u);
  EXPECT_EQ(dec.table_size(), (6 + 12 + 32) + (7 + 10 + 32));
  // Without indexing, a coded value is not measured.
  deflater enc2(4096);
  hpack_decoder dec2;
  fields.clear();
  const auto block = enc2.encode({{"x-trace", "abcdefghij"}}, true);
  ASSERT_EQ(dec2.decode(block, [&](const hpack_field& f) { fields.push_back(f); }),
            hpack_error::none);
  ASSERT_EQ(fields.size(), 1u);
  EXPECT_TRUE(fields[0].value.huffman);
  EXPECT_EQ(fields[0].value.size, hpack_string::npos);
  EXPECT_EQ(hpack_decoder::measure(fields[0].value), 10u);
  EXPECT_EQ(dec2.table_entries(), 0u);
}

hpack_error decode_bytes(hpack_decoder& d, std::vector<std::uint8_t> b) {
  return d.decode(b, [](const hpack_field&) {});
}

TEST(hpack_decoder, malformed_blocks_are_errors_not_fields) {
  hpack_decoder d;
  EXPECT_EQ(decode_bytes(d, {0x80}), hpack_error::bad_index);  // index 0
  EXPECT_EQ(decode_bytes(d, {0xbe}), hpack_error::bad_index);  // 62: the table is empty
  EXPECT_EQ(decode_bytes(d, {0xff}), hpack_error::truncated);  // an integer cut off
  EXPECT_EQ(decode_bytes(d, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), hpack_error::bad_integer);
  EXPECT_EQ(decode_bytes(d, {0x40, 0x03, 'a'}), hpack_error::truncated);  // a string cut off
  EXPECT_EQ(decode_bytes(d, {0x40}), hpack_error::truncated);
  // A size update above what this side announced, or after a field.
  EXPECT_EQ(decode_bytes(d, {0x3f, 0xe2, 0x1f}), hpack_error::bad_size);  // 31 + 4066 = 4097
  EXPECT_EQ(decode_bytes(d, {0x82, 0x20}), hpack_error::bad_size);
  EXPECT_EQ(decode_bytes(d, {0x20, 0x3f, 0xe1, 0x1f, 0x82}), hpack_error::none);  // two, first
  // Huffman: EOS inside (30 ones), and padding of 8 ones, in a value that enters the table.
  EXPECT_EQ(decode_bytes(d, {0x40, 0x01, 'a', 0x84, 0xff, 0xff, 0xff, 0xff}),
            hpack_error::bad_huffman);
  // 'a' (00011), then 11 ones.
  EXPECT_EQ(decode_bytes(d, {0x40, 0x01, 'a', 0x82, 0x1f, 0xff}), hpack_error::bad_huffman);
  // "00 " (5 + 5 + 6 bits) then 8 ones of padding: a whole byte of it is one too many.
  EXPECT_EQ(decode_bytes(d, {0x40, 0x01, 'a', 0x83, 0x00, 0x14, 0xff}), hpack_error::bad_huffman);
  // Padding that is not ones: '0' is 00000, then 000 is not a prefix of EOS.
  EXPECT_EQ(decode_bytes(d, {0x40, 0x01, 'a', 0x81, 0x00}), hpack_error::bad_huffman);
  EXPECT_EQ(d.table_entries(), 0u);
  // 00000 then 111 of padding is "0"; 00011 then 111 is "a".
  const std::uint8_t zero[] = {0x07}, a[] = {0x1f};
  std::string v;
  EXPECT_TRUE(hpack_decoder::text({zero, true}, v));
  EXPECT_TRUE(hpack_decoder::text({a, true}, v));
  EXPECT_EQ(v, "0a");
  EXPECT_EQ(decode_bytes(d, {0x40, 0x01, 'a', 0x81, 0x1f}), hpack_error::none);
  EXPECT_EQ(d.table_size(), 1u + 1u + 32u);
  EXPECT_EQ(decode_bytes(d, {0x40, 0x01, 'b', 0x82, 0x00, 0x14}), hpack_error::none);  // "00 "
  EXPECT_EQ(d.table_size(), (1u + 1u + 32u) + (1u + 3u + 32u));
}

// nginx 1.22's `server: nginx/1.22.1`: a literal with incremental indexing of static name 54,
// its value Huffman-coded (captured from nginx h2c).
const std::vector<std::uint8_t> nginx_server{0x76, 0x89, 0xaa, 0x63, 0x55, 0xe5,
                                             0x80, 0xae, 0x21, 0x2e, 0x1f};

TEST(hpack_decoder, a_repeated_literal_takes_the_length_of_its_earlier_copy) {
  // nginx's pattern: the same field with indexing on every response, never referred to. The
  // second copy onwards is not walked (known_size): the table's accounting must still be exact.
  hpack_decoder d;
  for (std::size_t n = 1; n <= 3; ++n) {
    std::vector<hpack_field> fields;
    ASSERT_EQ(d.decode(nginx_server, [&](const hpack_field& f) { fields.push_back(f); }),
              hpack_error::none);
    ASSERT_EQ(fields.size(), 1u);
    EXPECT_EQ(fields[0].value.size, 12u);
    EXPECT_EQ(text(fields[0].value), "nginx/1.22.1");
    EXPECT_EQ(d.table_entries(), n);
    EXPECT_EQ(d.table_size(), n * (6 + 12 + 32));
  }
  header_list got;
  ASSERT_EQ(decode_into(d, {0xbe, 0xbf, 0xc0}, got), hpack_error::none);  // 62, 63, 64
  EXPECT_EQ(got, header_list(3, {"server", "nginx/1.22.1"}));
  EXPECT_EQ(decode_into(d, {0xc1}, got), hpack_error::bad_index);  // 65: there are 3
  // Under a table that holds two: the oldest goes each time, the size stays exact.
  hpack_decoder small(100);
  for (int n = 0; n < 5; ++n) ASSERT_EQ(decode_bytes(small, nginx_server), hpack_error::none);
  EXPECT_EQ(small.table_entries(), 2u);  // 2 x 50 = 100
  EXPECT_EQ(small.table_size(), 100u);
}

TEST(hpack_decoder, an_entry_larger_than_the_table_empties_it_and_is_not_added) {
  hpack_decoder d(64);
  ASSERT_EQ(decode_bytes(d, {0x40, 0x01, 'a', 0x01, 'b'}), hpack_error::none);  // 34
  EXPECT_EQ(d.table_entries(), 1u);
  std::vector<std::uint8_t> big{0x40, 0x01, 'c', 0x1f};  // value of 31 bytes: 1 + 31 + 32 = 64
  big.insert(big.end(), 31, 'x');
  ASSERT_EQ(decode_bytes(d, big), hpack_error::none);  // fits exactly: 'a' is evicted
  EXPECT_EQ(d.table_entries(), 1u);
  EXPECT_EQ(d.table_size(), 64u);
  big[3] = 0x20;  // 32 bytes: 65, larger than the table
  big.push_back('x');
  header_list got;
  ASSERT_EQ(decode_into(d, big, got), hpack_error::none);
  EXPECT_EQ(got, header_list({{"c", std::string(32, 'x')}}));  // still a field
  EXPECT_EQ(d.table_entries(), 0u);
  EXPECT_EQ(d.table_size(), 0u);
}

TEST(hpack_decoder, a_name_taken_from_the_entry_its_insertion_evicts_survives) {
  // RFC 7541 4.4: the new entry names entry 62, which making room for it evicts.
  hpack_decoder d(64);
  ASSERT_EQ(decode_bytes(d, {0x40, 0x0a, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 0x00}),
            hpack_error::none);  // 10 + 0 + 32 = 42
  header_list got;
  for (int round = 0; round < 40; ++round) {  // over and over, through compactions
    const auto v = static_cast<char>('0' + round % 10);
    ASSERT_EQ(decode_into(d, {0x7e, 0x03, 'x', 'y', static_cast<std::uint8_t>(v)}, got),
              hpack_error::none)
        << round;  // name: index 62 (the only entry), 10 + 3 + 32 = 45
    ASSERT_EQ(got, header_list({{"abcdefghij", std::string("xy") + v}})) << round;
    EXPECT_EQ(d.table_entries(), 1u);
    ASSERT_EQ(decode_into(d, {0xbe}, got), hpack_error::none);
    ASSERT_EQ(got, header_list({{"abcdefghij", std::string("xy") + v}})) << round;
  }
}

TEST(hpack_decoder, an_unread_bad_huffman_string_is_left_to_the_reader) {
  // Without indexing, a value is not walked: the block decodes, and text() reports the bad coding
  // (leaving `out` as it was).
  hpack_decoder d;
  std::vector<hpack_field> fields;
  const std::vector<std::uint8_t> block{0x00, 0x01, 'a', 0x84, 0xff, 0xff, 0xff, 0xff};
  ASSERT_EQ(d.decode(block, [&](const hpack_field& f) { fields.push_back(f); }), hpack_error::none);
  ASSERT_EQ(fields.size(), 1u);
  std::string out = "kept";
  EXPECT_FALSE(hpack_decoder::text(fields[0].value, out));
  EXPECT_EQ(out, "kept");
  EXPECT_EQ(hpack_decoder::measure(fields[0].value), hpack_string::npos);
  // Empty strings, coded or not, in the table and repeated (nothing is stored for them).
  EXPECT_EQ(decode_bytes(d, {0x40, 0x80, 0x80}), hpack_error::none);
  EXPECT_EQ(decode_bytes(d, {0x40, 0x80, 0x80}), hpack_error::none);
  EXPECT_EQ(d.table_size(), 64u);
}

TEST(hpack_decoder, huffman_text_of_every_byte_matches_what_nghttp2_coded) {
  // Every byte value, in a value nghttp2 codes with Huffman because the common letters around it
  // make the coding shorter.
  deflater enc(4096);
  hpack_decoder dec;
  for (int c = 0; c < 256; ++c) {
    std::string value(60, 'e');
    value[30] = static_cast<char>(c);
    header_list got;
    ASSERT_EQ(decode_into(dec, enc.encode({{"x-byte", value}}), got), hpack_error::none) << c;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].second, value) << c;
  }
}

}  // namespace

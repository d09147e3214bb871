// hpack_indexer's blocks read by a decoder nobody on the project wrote (nghttp2's public
// inflater), as a server reads a connection's requests: every field comes back as sent, the
// table's size stays the indexer's, repeated fields become indexes, and a lower table limit is
// signalled before the next block (nghttp2 refuses a block without it).

#include "detail/hpack_indexer.hpp"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

#include <random>
#include <string>
#include <vector>

#include "detail/http2_request.hpp"
#include "nghttp2_inflate.hpp"

namespace {

using namespace hit::http::detail;
using hit::test::fields;

class inflater {
 public:
  inflater() { nghttp2_hd_inflate_new(&in_); }
  ~inflater() { nghttp2_hd_inflate_del(in_); }
  inflater(const inflater&) = delete;
  inflater& operator=(const inflater&) = delete;
  fields read(const std::vector<std::uint8_t>& block) { return hit::test::inflate(in_, block); }

  // This side announced SETTINGS_HEADER_TABLE_SIZE `size`.
  void announce(std::uint32_t size) { nghttp2_hd_inflate_change_table_size(in_, size); }
  std::size_t table_size() { return nghttp2_hd_inflate_get_dynamic_table_size(in_); }

 private:
  nghttp2_hd_inflater* in_ = nullptr;
};

const fields& expected(const http2_request& r) {
  return r.fields;
}

std::vector<http2_request*> pointers(std::vector<http2_request>& rs) {
  std::vector<http2_request*> p;
  for (auto& r : rs) p.push_back(&r);
  return p;
}

http2_request request(const std::string& path,
                      std::vector<std::pair<std::string, std::string>> extra = {}) {
  hit::http::request_spec spec;
  spec.headers = std::move(extra);
  return build_http2_request({"http", "127.0.0.1", "8080", path, "127.0.0.1:8080"}, spec);
}

std::vector<std::uint8_t> encode(hpack_indexer& x, const http2_request& r) {
  std::vector<std::uint8_t> block;
  x.encode(r.refs, r.literals, block);
  return block;
}

TEST(hpack_indexer, a_repeated_request_is_sent_as_indexes) {
  std::vector<http2_request> rs;
  rs.push_back(request("/body"));
  number_http2_fields(pointers(rs));
  ASSERT_EQ(rs[0].fields_in_run, 4u);  // :authority, :path, user-agent, accept
  hpack_indexer x(rs[0].fields_in_run);
  inflater server;
  const auto first = encode(x, rs[0]);
  EXPECT_EQ(server.read(first), expected(rs[0]));
  EXPECT_EQ(x.entries(), 4u);
  EXPECT_EQ(x.table_size(), server.table_size());
  for (int i = 0; i < 3; ++i) {
    const auto again = encode(x, rs[0]);
    EXPECT_EQ(again.size(), 6u);  // six fields, one byte each
    EXPECT_EQ(server.read(again), expected(rs[0]));
    EXPECT_EQ(x.table_size(), server.table_size());
  }
  // A new connection: a new table on both sides.
  x.reset();
  inflater fresh;
  EXPECT_EQ(encode(x, rs[0]), first);
  EXPECT_EQ(fresh.read(first), expected(rs[0]));
}

TEST(hpack_indexer, equal_fields_of_different_requests_share_an_entry) {
  std::vector<http2_request> rs;
  rs.push_back(request("/a"));
  rs.push_back(request("/b", {{"X-Tenant", "t1"}}));
  number_http2_fields(pointers(rs));
  EXPECT_EQ(rs[0].fields_in_run, 6u);  // :authority, user-agent, accept, /a, /b, x-tenant
  hpack_indexer x(rs[0].fields_in_run);
  inflater server;
  EXPECT_EQ(server.read(encode(x, rs[0])), expected(rs[0]));
  EXPECT_EQ(x.entries(), 4u);
  EXPECT_EQ(server.read(encode(x, rs[1])), expected(rs[1]));
  EXPECT_EQ(x.entries(), 6u);  // /b and x-tenant only
  EXPECT_EQ(x.table_size(), server.table_size());
}

// Many requests over a connection whose table keeps evicting (long fields, a 4 096-byte table),
// with the server lowering its limit now and then (even to 0) and raising it again.
TEST(hpack_indexer, random_requests_with_evictions_and_limit_changes_decode_exactly) {
  std::mt19937 rng(7);
  std::vector<http2_request> rs;
  for (int i = 0; i < 40; ++i) {
    std::vector<std::pair<std::string, std::string>> extra;
    const int n = static_cast<int>(rng() % 4);
    for (int k = 0; k < n; ++k)
      extra.emplace_back(
          "x-h" + std::to_string(rng() % 6),
          std::string(rng() % 2 ? rng() % 40 : rng() % 1500, 'a' + char(rng() % 26)));
    rs.push_back(request("/p" + std::to_string(rng() % 25), std::move(extra)));
  }
  number_http2_fields(pointers(rs));
  hpack_indexer x(rs[0].fields_in_run);
  inflater server;
  std::uint32_t announced = hpack_indexer::default_table_size;
  bool saw_eviction = false;
  for (int i = 0; i < 5000; ++i) {
    if (rng() % 200 == 0) {
      announced = rng() % 3 == 0 ? 0 : static_cast<std::uint32_t>(rng() % 5000);
      server.announce(announced);
      x.limit(announced);
    }
    const auto& r = rs[rng() % rs.size()];
    const auto before = x.entries();
    ASSERT_EQ(server.read(encode(x, r)), expected(r)) << "request " << i;
    ASSERT_EQ(x.table_size(), server.table_size()) << "request " << i;
    ASSERT_LE(x.table_size(), std::min(announced, hpack_indexer::default_table_size));
    saw_eviction = saw_eviction || x.entries() < before;
  }
  EXPECT_TRUE(saw_eviction);
}

TEST(hpack_indexer, a_field_larger_than_the_table_stays_out_of_it) {
  std::vector<http2_request> rs;
  rs.push_back(request("/a"));
  rs.push_back(request("/a", {{"x-big", std::string(5000, 'b')}}));
  number_http2_fields(pointers(rs));
  hpack_indexer x(rs[0].fields_in_run);
  inflater server;
  server.read(encode(x, rs[0]));
  EXPECT_EQ(x.entries(), 4u);
  EXPECT_EQ(server.read(encode(x, rs[1])), expected(rs[1]));
  EXPECT_EQ(x.entries(), 4u);  // x-big was sent without indexing: the table is as it was
  EXPECT_EQ(x.table_size(), server.table_size());
  EXPECT_EQ(encode(x, rs[0]).size(), 6u);  // all indexes still
}

// A targets file of many paths: past the first max_fields distinct fields, fields are sent as
// literals that stay out of the table (a connection keeps a number per indexed field only).
TEST(hpack_indexer, fields_past_the_indexed_ones_are_sent_as_plain_literals) {
  std::vector<http2_request> rs;
  for (std::uint32_t i = 0; i < hpack_indexer::max_fields + 10; ++i)
    rs.push_back(request("/p" + std::to_string(i)));
  number_http2_fields(pointers(rs));
  ASSERT_EQ(rs[0].fields_in_run, hpack_indexer::max_fields + 13);  // paths, and 3 shared
  hpack_indexer x(rs[0].fields_in_run);
  inflater server;
  const auto& last = rs.back();  // its path's id is past max_fields
  EXPECT_EQ(server.read(encode(x, last)), expected(last));
  EXPECT_EQ(x.entries(), 3u);  // :authority, user-agent, accept
  const auto again = encode(x, last);
  EXPECT_EQ(server.read(again), expected(last));
  EXPECT_EQ(x.table_size(), server.table_size());
  EXPECT_GT(again.size(), 6u);  // the path spelt out again
  EXPECT_EQ(server.read(encode(x, rs[0])), expected(rs[0]));
  EXPECT_EQ(x.entries(), 4u);  // the first path has an id below max_fields
}

}  // namespace

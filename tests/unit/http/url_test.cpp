#include "hit/http/url.hpp"

#include <gtest/gtest.h>

using hit::http::parse_url;

TEST(url, http_with_port_path_and_query) {
  auto u = parse_url("http://127.0.0.1:8080/a/b?x=1&y=2");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/a/b?x=1&y=2");
  EXPECT_EQ(u->authority, "127.0.0.1:8080");
}

TEST(url, defaults_port_and_path) {
  auto u = parse_url("http://example.test");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority, "example.test");
  u = parse_url("http://example.test?q=1#frag");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->target, "/?q=1");
}

TEST(url, ipv6_literal) {
  auto u = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9000");
  EXPECT_EQ(u->authority, "[::1]:9000");
}

TEST(url, ports_are_decimal_and_the_default_is_left_out_of_host) {
  auto u = parse_url("http://h:080/");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->authority, "h");
  u = parse_url("http://h:65535/");
  ASSERT_TRUE(u) << u.error();
  EXPECT_EQ(u->port, "65535");
}

TEST(url, rejects_bad_input_with_a_reason) {
  for (const char* bad : {"", "localhost:8080", "ftp://x/", "http://", "http://:80/",
                          "http://h:99999999999/", "http://u:p@h/", "not a url"}) {
    auto u = parse_url(bad);
    EXPECT_FALSE(u) << bad;
    if (!u) {
      EXPECT_FALSE(u.error().empty()) << bad;
    }
  }
}

// Ports that used to wrap at 16 bits, and junk after the port that used to become the target.
TEST(url, rejects_every_port_that_is_not_1_to_65535_in_decimal) {
  for (const char* bad :
       {"http://127.0.0.1:99999/x", "http://127.0.0.1:65536/", "http://127.0.0.1:100000/",
        "http://127.0.0.1:0/", "http://127.0.0.1:/", "http://127.0.0.1:18100x/",
        "http://127.0.0.1:18100:5/", "http://127.0.0.1:-1/", "http://127.0.0.1:+80/",
        "http://127.0.0.1:0x50/", "http://[::1]x/", "http://[::1]:/"}) {
    auto u = parse_url(bad);
    EXPECT_FALSE(u) << bad << " -> " << (u ? u->port + " " + u->target : "");
  }
}

TEST(url, messages_are_our_own_words_on_one_line) {
  auto u = parse_url("http://::1:8080/");
  ASSERT_FALSE(u);
  EXPECT_NE(u.error().find("[::1]"), std::string::npos) << u.error();
  u = parse_url("http://a b/");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().find("leftover"), std::string::npos) << u.error();
  u = parse_url("http//oops");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().find("mismatch"), std::string::npos) << u.error();
  EXPECT_NE(u.error().find("http://HOST"), std::string::npos) << u.error();
  u = parse_url("http://h/\r\nX: y");
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().find_first_of("\r\n"), std::string::npos) << u.error();
}

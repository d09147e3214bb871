#include "hit/http/url.hpp"

#include <gtest/gtest.h>

using hit::http::parse_url;

TEST(url, http_with_port_path_and_query) {
  std::string err;
  auto u = parse_url("http://127.0.0.1:8080/a/b?x=1&y=2", err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/a/b?x=1&y=2");
  EXPECT_EQ(u->authority, "127.0.0.1:8080");
}

TEST(url, defaults_port_and_path) {
  std::string err;
  auto u = parse_url("http://example.test", err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->authority, "example.test");
}

TEST(url, ipv6_literal) {
  std::string err;
  auto u = parse_url("http://[::1]:9000/x", err);
  ASSERT_TRUE(u) << err;
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->authority, "[::1]:9000");
}

TEST(url, rejects_bad_input_with_a_reason) {
  for (const char* bad : {"", "localhost:8080", "ftp://x/", "http://", "http://:80/",
                          "http://h:99999999999/", "http://u:p@h/", "not a url"}) {
    std::string err;
    EXPECT_FALSE(parse_url(bad, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
}

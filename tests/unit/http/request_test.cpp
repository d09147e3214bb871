#include "hit/http/request.hpp"

#include <gtest/gtest.h>

using namespace hit::http;

namespace {
url target() {
  return *parse_url("http://127.0.0.1:8080/p?q=1");
}
std::string whole(const request_bytes& r) {
  return r.head + r.body;
}
}  // namespace

TEST(request, get_with_defaults) {
  const auto r = whole(build_request(target(), request_spec{}));
  EXPECT_EQ(r.rfind("GET /p?q=1 HTTP/1.1\r\n", 0), 0u);
  EXPECT_NE(r.find("\r\nHost: 127.0.0.1:8080\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nUser-Agent: hit/"), std::string::npos);
  EXPECT_EQ(r.find("Content-Length"), std::string::npos);
  EXPECT_EQ(r.find("Connection"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 4), "\r\n\r\n");
}

TEST(request, user_headers_replace_defaults_and_body_sets_length) {
  request_spec s;
  s.method = "POST";
  s.headers = {{"host", "example.test"}, {"X-A", "1"}, {"Content-Length", "999"}};
  s.body = "{\"a\":1}";
  const auto r = whole(build_request(target(), s));
  EXPECT_EQ(r.find("Host: 127.0.0.1"), std::string::npos);
  // The user's Host, in the place of the URL's: first (RFC 9112 3.2).
  EXPECT_EQ(r.find("\r\nhost: example.test\r\n"), r.find("\r\n"));
  EXPECT_NE(r.find("\r\nX-A: 1\r\n"), std::string::npos);
  EXPECT_NE(r.find("\r\nContent-Length: 7\r\n"), std::string::npos);
  EXPECT_EQ(r.find("999"), std::string::npos);
  EXPECT_EQ(r.substr(r.size() - 11), "\r\n\r\n{\"a\":1}");
}

TEST(request, no_keepalive_asks_to_close) {
  request_spec s;
  s.keepalive = false;
  EXPECT_NE(build_request(target(), s).head.find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(request, empty_post_says_length_zero) {
  request_spec s;
  s.method = "POST";
  EXPECT_NE(build_request(target(), s).head.find("\r\nContent-Length: 0\r\n"), std::string::npos);
}

TEST(request, a_large_body_is_held_once_apart_from_the_head) {
  request_spec s;
  s.method = "PUT";
  s.body = std::string(request_bytes::inline_body_limit + 1, 'x');
  const char* data = s.body.data();
  const auto r = build_request(target(), std::move(s));
  EXPECT_EQ(r.body.data(), data) << "moved, not copied";
  EXPECT_EQ(r.head.find('x'), std::string::npos);
  EXPECT_NE(r.head.find("\r\nContent-Length: 65537\r\n"), std::string::npos);
  EXPECT_EQ(r.size(), r.head.size() + 65537);
}

TEST(request, absolute_form_for_a_proxy) {
  request_spec s;
  s.absolute_form = true;
  auto r = whole(build_request(target(), s));
  EXPECT_EQ(r.rfind("GET http://127.0.0.1:8080/p?q=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n", 0), 0u);
  // The scheme's default port is left out, as in the Host header.
  r = whole(build_request(*parse_url("http://example.test:80"), s));
  EXPECT_EQ(r.rfind("GET http://example.test/ HTTP/1.1\r\nHost: example.test\r\n", 0), 0u);
}

#include "hit/http/request_template.hpp"

#include <gtest/gtest.h>

#include "uuid_check.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

using hit::http::request_spec;
using hit::http::request_template;

namespace {

std::string render(const request_template& t, std::uint64_t seq, std::uint64_t& random) {
  std::string out(t.max_size(), '\0');
  out.resize(t.render({seq, &random}, out.data()));
  return out + std::string(t.fixed_body());
}

request_template make(const std::string& url, request_spec spec = {}) {
  auto t = request_template::make(*request_template::parse_url(url), spec);
  EXPECT_TRUE(t) << t.error();
  return std::move(*t);
}

std::string error(const std::string& url, request_spec spec = {}) {
  const auto u = request_template::parse_url(url);
  if (!u) return u.error();
  auto t = request_template::make(*u, spec);
  EXPECT_FALSE(t);
  return t ? std::string() : t.error();
}

}  // namespace

TEST(request_template, only_requests_with_braces_are_templates) {
  request_spec s;
  EXPECT_FALSE(
      request_template::has_placeholders(*request_template::parse_url("http://h/a?b=c"), s));
  EXPECT_TRUE(
      request_template::has_placeholders(*request_template::parse_url("http://h/{{seq}}"), s));
  s.headers = {{"X", "{{uuid}}"}};
  EXPECT_TRUE(request_template::has_placeholders(*request_template::parse_url("http://h/"), s));
}

TEST(request_template, seq_in_the_path_and_a_header) {
  request_spec s;
  s.headers = {{"X-Seq", "n{{seq}}"}};
  const auto t = make("http://h:8080/item/{{seq}}?q=1", s);
  std::uint64_t r = 1;
  const auto a = render(t, 0, r), b = render(t, 123456, r);
  EXPECT_EQ(a.rfind("GET /item/0?q=1 HTTP/1.1\r\nHost: h:8080\r\n", 0), 0u) << a;
  EXPECT_NE(a.find("\r\nX-Seq: n0\r\n"), std::string::npos);
  EXPECT_EQ(b.rfind("GET /item/123456?q=1 HTTP/1.1\r\n", 0), 0u) << b;
  EXPECT_NE(b.find("\r\nX-Seq: n123456\r\n"), std::string::npos);
  EXPECT_EQ(b.substr(b.size() - 4), "\r\n\r\n");
  EXPECT_LE(b.size(), t.max_size());
}

TEST(request_template, a_body_that_varies_gets_its_length_per_request) {
  request_spec s;
  s.method = "POST";
  s.body = R"({"id":{{rand -5 1000000}},"u":"{{uuid}}"})";
  const auto t = make("http://h/", s);
  std::uint64_t r = 42;
  std::set<std::string> uuids;
  for (int i = 0; i < 2000; ++i) {
    const auto req = render(t, static_cast<std::uint64_t>(i), r);
    const auto end = req.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const auto body = req.substr(end + 4);
    const auto cl = req.find("\r\nContent-Length: ");
    ASSERT_NE(cl, std::string::npos) << req;
    EXPECT_EQ(std::stoul(req.substr(cl + 18)), body.size()) << req;
    // {"id":N,"u":"UUID"}
    const std::string head = "{\"id\":", mid = ",\"u\":\"", tail = "\"}";
    ASSERT_EQ(body.rfind(head, 0), 0u) << body;
    const auto comma = body.find(mid);
    ASSERT_NE(comma, std::string::npos) << body;
    ASSERT_EQ(body.substr(body.size() - tail.size()), tail) << body;
    const auto id = std::stol(body.substr(head.size(), comma - head.size()));
    EXPECT_EQ(std::to_string(id), body.substr(head.size(), comma - head.size()));
    EXPECT_GE(id, -5);
    EXPECT_LE(id, 1000000);
    const auto u = body.substr(comma + mid.size(), body.size() - tail.size() - comma - mid.size());
    EXPECT_TRUE(hit::test::is_uuid_v4(u)) << u;
    uuids.insert(u);
  }
  EXPECT_EQ(uuids.size(), 2000u);
}

TEST(request_template, rand_covers_its_range_and_repeats_with_its_state) {
  const auto t = make("http://h/{{rand 1 3}}");
  std::uint64_t r = 7, again = 7;
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const auto a = render(t, 0, r);
    EXPECT_EQ(a, render(t, 0, again));
    seen.insert(a.substr(5, 1));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"1", "2", "3"}));
}

TEST(request_template, line_cycles_through_a_file_by_seq) {
  const auto path = std::filesystem::temp_directory_path() / "hit_template_lines.txt";
  std::ofstream(path) << "alpha\r\nbeta\ngamma";
  const auto t = make("http://h/u/{{line " + path.string() + "}}");
  std::uint64_t r = 0;
  EXPECT_EQ(render(t, 0, r).substr(0, 15), "GET /u/alpha HT");
  EXPECT_EQ(render(t, 1, r).substr(0, 14), "GET /u/beta HT");
  EXPECT_EQ(render(t, 2, r).substr(0, 15), "GET /u/gamma HT");
  EXPECT_EQ(render(t, 3, r).substr(0, 15), "GET /u/alpha HT");
  std::filesystem::remove(path);
}

TEST(request_template, time_ms_is_now) {
  const auto t = make("http://h/?t={{time_ms}}");
  std::uint64_t r = 0;
  const auto before = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const auto req = render(t, 0, r);
  const auto ms = std::stoll(req.substr(req.find("?t=") + 3));
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, before + 5000);
}

TEST(request_template, errors_name_the_part_and_the_offset) {
  EXPECT_NE(error("http://h/a/{{sq}}")
                .find("the request target at byte 3: unknown placeholder "
                      "'{{sq}}'"),
            std::string::npos);
  EXPECT_NE(error("http://h/{{seq").find("the URL at byte 9: '{{' without its '}}'"),
            std::string::npos);
  EXPECT_NE(error("http://{{seq}}/").find("not in its host or port"), std::string::npos);
  request_spec s;
  s.headers = {{"X-A", "v {{rand 5 1}}"}};
  EXPECT_NE(error("http://h/", s).find("header X-A at byte 2: '{{rand 5 1}}' wants {{rand LO HI}}"),
            std::string::npos);
  s.headers.clear();
  s.body = "ab{{line /nonexistent/file}}";
  EXPECT_NE(error("http://h/", s).find("the body at byte 2: cannot read '/nonexistent/file'"),
            std::string::npos);
  s.body = "{{rand 1 x}}";
  EXPECT_NE(error("http://h/", s).find("wants {{rand LO HI}}"), std::string::npos);
}

TEST(request_template, a_file_line_must_fit_where_it_goes) {
  const auto path = std::filesystem::temp_directory_path() / "hit_template_unfit.txt";
  std::ofstream(path) << "ok\nwith space\n";
  const auto brace = std::filesystem::temp_directory_path() / "hit_template_brace.txt";
  std::ofstream(brace) << "a{b}\n";
  EXPECT_NE(error("http://h/{{line " + brace.string() + "}}").find("line 1 of"), std::string::npos);
  std::filesystem::remove(brace);
  const auto in_url = error("http://h/u/{{line " + path.string() + "}}");
  EXPECT_NE(in_url.find("line 2 of '" + path.string() + "' has a byte the request target cannot"),
            std::string::npos)
      << in_url;
  request_spec s;
  s.headers = {{"X-U", "{{line " + path.string() + "}}"}};
  make("http://h/", s);  // a space is fine in a header value
  s.headers.clear();
  s.body = "{{line /dev/zero}}";  // not a regular file: could be endless
  EXPECT_NE(error("http://h/", s).find("not a readable regular file"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(request_template, a_fixed_body_is_sent_as_it_is_whatever_its_bytes) {
  request_spec s;
  s.method = "POST";
  s.body = std::string(
      "a\x01"
      "7\x02z\x03\0",
      7);  // the bytes make() marks with, and a NUL
  const auto t = make("http://h/{{seq}}", s);
  std::uint64_t r = 0;
  const auto req = render(t, 5, r);
  EXPECT_EQ(req.rfind("POST /5 HTTP/1.1\r\n", 0), 0u);
  EXPECT_EQ(req.substr(req.size() - 7), s.body);
  EXPECT_NE(req.find("\r\nContent-Length: 7\r\n"), std::string::npos);
}

TEST(request_template, a_literal_that_looks_like_the_parsers_token_stays_literal) {
  const auto t = make("http://h/~~h0~~/{{seq}}");
  std::uint64_t r = 0;
  EXPECT_EQ(render(t, 7, r).rfind("GET /~~h0~~/7 HTTP/1.1\r\n", 0), 0u) << render(t, 7, r);
}

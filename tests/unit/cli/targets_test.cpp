#include "targets.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

using hit::cli::load_targets;
using hit::cli::parse_targets;
using hit::cli::target;
using hit::cli::targets_format;

namespace fs = std::filesystem;

namespace {

using headers = std::vector<std::pair<std::string, std::string>>;

// EXPECT_HAS(text, part): `part` is in `text`, and the failure shows both.
::testing::AssertionResult has(const char*, const char*, const std::string& text,
                               std::string_view part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "'" << part << "' is not in: " << text;
}
#define EXPECT_HAS(text, part) EXPECT_PRED_FORMAT2(has, text, part)

// A fresh directory per test for body files, removed after it.
class targets_test : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> count{0};
    dir_ = fs::temp_directory_path() /
           ("hit_targets_test_" + std::to_string(::getpid()) + "_" + std::to_string(count++));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void write(const std::string& name, std::string_view bytes) const {
    std::ofstream out(dir_ / name, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }

  hit::result<std::vector<target>> parse(std::string_view text,
                                         targets_format fmt = targets_format::automatic) const {
    return parse_targets(text, "t.txt", fmt, dir_);
  }

  // The one-line error for `text`; fails the test when it parses.
  std::string error(std::string_view text, targets_format fmt = targets_format::automatic) const {
    auto r = parse(text, fmt);
    EXPECT_FALSE(r.ok()) << "parsed: " << text;
    if (r.ok()) return {};
    EXPECT_EQ(r.error().find('\n'), std::string::npos) << r.error();
    return r.error();
  }

  fs::path dir_;
};

// ---- the http format ---------------------------------------------------------------------

TEST_F(targets_test, http_targets_with_headers_in_order) {
  auto r = parse(
      "GET http://127.0.0.1:8080/a?x=1\n"
      "X-Header: v\n"
      "Other:   w  \n"
      "X-Header: second\n"
      "\n"
      "POST http://127.0.0.1:8080/b\n"
      "Content-Type: application/json\n");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  const auto& a = (*r)[0];
  EXPECT_EQ(a.method, "GET");
  EXPECT_EQ(a.url.scheme, "http");
  EXPECT_EQ(a.url.host, "127.0.0.1");
  EXPECT_EQ(a.url.port, "8080");
  EXPECT_EQ(a.url.target, "/a?x=1");
  EXPECT_EQ(a.headers, (headers{{"X-Header", "v"}, {"Other", "w"}, {"X-Header", "second"}}));
  EXPECT_EQ(a.body, "");
  EXPECT_EQ(a.name, "GET http://127.0.0.1:8080/a?x=1");
  EXPECT_EQ(a.line, 1u);
  const auto& b = (*r)[1];
  EXPECT_EQ(b.method, "POST");
  EXPECT_EQ(b.url.target, "/b");
  EXPECT_EQ(b.headers, (headers{{"Content-Type", "application/json"}}));
  EXPECT_EQ(b.line, 6u);
}

TEST_F(targets_test, http_comments_between_and_among_headers) {
  auto r = parse(
      "# the first comment\n"
      "  # indented\n"
      "GET http://a/1\n"
      "# under the target\n"
      "X: 1\n"
      "#Y: not a header\n"
      "Z: 2\n"
      "\n"
      "# between\n"
      "GET http://a/2\n");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].headers, (headers{{"X", "1"}, {"Z", "2"}}));
  EXPECT_EQ((*r)[1].line, 10u);
}

TEST_F(targets_test, http_crlf_bom_trailing_space_and_no_final_newline) {
  auto r = parse(
      "\xEF\xBB\xBFGET http://a/1 \r\n"
      "X: v\t\r\n"
      "\r\n"
      "PUT http://a/2\r\n"
      "Y: w");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].method, "GET");
  EXPECT_EQ((*r)[0].url.target, "/1");
  EXPECT_EQ((*r)[0].headers, (headers{{"X", "v"}}));
  EXPECT_EQ((*r)[1].method, "PUT");
  EXPECT_EQ((*r)[1].headers, (headers{{"Y", "w"}}));
  EXPECT_EQ((*r)[1].line, 4u);
}

TEST_F(targets_test, http_many_blank_lines) {
  auto r = parse("\n\n\nGET http://a/1\n\n\n\n  \n\t\nGET http://a/2\n\n\n");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].line, 4u);
  EXPECT_EQ((*r)[1].line, 10u);
}

TEST_F(targets_test, http_targets_without_blank_lines_between) {
  write("b.txt", "B");
  auto r = parse(
      "GET http://a/1\n"
      "GET http://a/2\n"
      "X: 1\n"
      "DELETE http://a/3\n"
      "POST http://a/4\n"
      "@b.txt\n"
      "GET http://a/5\n");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[1].headers, (headers{{"X", "1"}}));
  EXPECT_EQ((*r)[2].method, "DELETE");
  EXPECT_TRUE((*r)[2].headers.empty());
  EXPECT_EQ((*r)[3].body, "B");
  EXPECT_EQ((*r)[4].line, 7u);
  EXPECT_EQ((*r)[4].body, "");
}

TEST_F(targets_test, http_body_file_relative_to_base_dir_read_whole_and_binary) {
  const std::string bytes("{\"a\":1}\r\n\0\xff end", 14);
  write("body.json", bytes);
  fs::create_directories(dir_ / "sub");
  write("sub/other.bin", "other");
  auto r = parse(
      "POST http://a/b\n"
      "Content-Type: application/json\n"
      "@body.json\n"
      "\n"
      "PUT http://a/c\n"
      "@ sub/other.bin \n"
      "\n"
      "POST http://a/d\n"
      "@" +
      (dir_ / "body.json").string() + "\n");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].body, bytes);
  EXPECT_EQ((*r)[0].headers, (headers{{"Content-Type", "application/json"}}));
  EXPECT_EQ((*r)[1].body, "other");
  EXPECT_EQ((*r)[2].body, bytes);  // an absolute path, and the same file a second time
}

TEST_F(targets_test, http_body_errors) {
  auto e = error("GET http://a/\n\nPOST http://a/b\nX: 1\n@missing.json\n");
  EXPECT_HAS(e, "t.txt:5: cannot read body file 'missing.json'");
  EXPECT_HAS(e, (dir_ / "missing.json").string());
  EXPECT_HAS(e, "No such file or directory");

  fs::create_directories(dir_ / "adir");
  EXPECT_HAS(error("POST http://a/\n@adir\n"), "t.txt:2: cannot read body file 'adir'");
  // Not a regular file: a device could be endless.
  EXPECT_HAS(error("POST http://a/\n@/dev/zero\n"),
             "t.txt:2: cannot read body file '/dev/zero': not a regular file");
  EXPECT_HAS(error("POST http://a/\n@\n"), "t.txt:2: the body line '@' names no file");
  write("b", "x");
  EXPECT_HAS(error("POST http://a/\n@b\n@b\n"), "t.txt:3: the body line '@b' belongs to no target");
  EXPECT_HAS(error("@b\nGET http://a/\n"), "t.txt:1: the body line '@b' belongs to no target");
  // A body line ends its target, so a header after it starts nothing.
  auto after = error("POST http://a/\n@b\nX: 1\n");
  EXPECT_HAS(after, "t.txt:3: expected a target (METHOD URL), got the header 'X: 1'");
  EXPECT_HAS(after, "headers come before the target's @file line");
}

TEST_F(targets_test, http_method) {
  auto r = parse("get http://a/\n\nM-SEARCH http://a/\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)[0].method, "GET");  // uppercased, as -X is
  EXPECT_EQ((*r)[0].name, "get http://a/");
  EXPECT_EQ((*r)[1].method, "M-SEARCH");

  auto e = error("GET http://a/\n\nG(T http://a/\n");
  EXPECT_HAS(e, "t.txt:3: bad method 'G(T'");
  EXPECT_HAS(error("GET\n"), "t.txt:1: 'GET' is not a target");
  EXPECT_HAS(error("http://a/\n"), "t.txt:1: 'http://a/' has no method");
  EXPECT_HAS(error("X-Header: v\nGET http://a/\n"),
             "t.txt:1: expected a target (METHOD URL), got the header 'X-Header: v'");
}

TEST_F(targets_test, http_bad_url) {
  auto e = error("GET http://a/\n\nGET ftp://a/\n");
  EXPECT_HAS(e, "t.txt:3: unsupported scheme 'ftp'");
  EXPECT_HAS(error("GET http://a:99999/\n"),
             "t.txt:1: malformed URL 'http://a:99999/': the port '99999'");
  EXPECT_HAS(error("GET http://a/ HTTP/1.1\n"),
             "t.txt:1: 'GET http://a/ HTTP/1.1' has text after the URL");
  EXPECT_HAS(error("GET http://a/\x1b[2J\n"), "t.txt:1: malformed URL 'http://a/\\x1b");
}

TEST_F(targets_test, http_bad_headers) {
  EXPECT_HAS(error("GET http://a/\nX-Header v\n"), "t.txt:2: header 'X-Header v' has no colon");
  EXPECT_HAS(error("GET http://a/\nX(Y): v\n"), "t.txt:2: header 'X(Y): v' has a bad name");
  EXPECT_HAS(error("GET http://a/\n: v\n"), "t.txt:2: header ': v' has a bad name");
  // A CR inside a line (not the CR of a CRLF ending) would end the header early on the wire.
  EXPECT_HAS(error("GET http://a/\nX: a\rInjected: b\n"),
             "t.txt:2: header 'X: a\\rInjected: b' has a control character");
  EXPECT_HAS(error(std::string_view("GET http://a/\nX: a\0b\n", 21)),
             "t.txt:2: header 'X: a\\x00b' has a control character");
  EXPECT_HAS(error("GET http://a/\n\nPOST http://a/\ncontent-length: 5\n"),
             "t.txt:4: header 'content-length: 5': hit frames the body itself");
  EXPECT_HAS(error("POST http://a/\nTransfer-Encoding: chunked\n"),
             "t.txt:2: header 'Transfer-Encoding: chunked': hit frames the body");

  // Spaces around the name are dropped (vegeta does too); an empty value is a value.
  auto r = parse("GET http://a/\nX :  v\nEmpty:\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)[0].headers, (headers{{"X", "v"}, {"Empty", ""}}));
}

TEST_F(targets_test, one_origin) {
  auto e = error("GET http://a:8080/1\n\n# two\nGET http://a:8080/2\n\nGET https://b/3\n");
  EXPECT_HAS(e,
             "t.txt:6: https://b:443 is not the origin of the first target "
             "(http://a:8080, line 1): all targets of a run share one origin");
  EXPECT_HAS(error("GET http://a/\nGET http://a:81/\n"), "t.txt:2: http://a:81 is not the origin");
  EXPECT_HAS(error("GET http://[::1]:8080/\nGET http://127.0.0.1:8080/\n"),
             "(http://[::1]:8080, line 1)");
  // The same origin written differently: default port, host case, scheme case.
  auto r = parse("GET http://Example.com/\nGET http://example.com:80/x\nGET HTTP://EXAMPLE.COM/\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->size(), 3u);
}

TEST_F(targets_test, no_targets) {
  EXPECT_EQ(error(""), "no targets in t.txt");
  EXPECT_EQ(error("\n\n  \n# only a comment\r\n"), "no targets in t.txt");
  EXPECT_EQ(error("\xEF\xBB\xBF"), "no targets in t.txt");
  EXPECT_EQ(error("", targets_format::json), "no targets in t.txt");
}

TEST_F(targets_test, at_most_a_million_targets) {
  std::string text;
  text.reserve((hit::cli::max_targets + 1) * 15);
  for (std::size_t i = 0; i <= hit::cli::max_targets; ++i) text += "GET http://a/\n";
  EXPECT_HAS(error(text), "t.txt:1000001: more than 1000000 targets");
  text.resize(hit::cli::max_targets * 14);
  auto r = parse(text);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->size(), hit::cli::max_targets);
}

TEST_F(targets_test, messages_escape_the_source_name) {
  auto r = parse_targets("GET ftp://a/\n", "a\x1b[2Jb", targets_format::http, dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_HAS(r.error(), "a\\x1b[2Jb:1: ");
}

// ---- the JSON lines format ---------------------------------------------------------------

TEST_F(targets_test, json_targets) {
  auto r = parse(
      R"({"method":"POST","url":"http://a:8080/b","headers":{"Z":"1","A":["x","y"],"M":[]},)"
      R"("body":"eyJhIjoxfQ=="})"
      "\n\n"
      "# a comment\n"
      R"(  {"url":"http://a:8080/c","method":"get","header":{"K":["v"]},"name":"the c page"}  )"
      "\r\n"
      R"({"method":"PUT","url":"http://a:8080/d","body_text":"héllo\n"})");
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 3u);
  const auto& a = (*r)[0];
  EXPECT_EQ(a.method, "POST");
  EXPECT_EQ(a.url.target, "/b");
  // In the order written (not sorted), arrays one header per value, an empty array none.
  EXPECT_EQ(a.headers, (headers{{"Z", "1"}, {"A", "x"}, {"A", "y"}}));
  EXPECT_EQ(a.body, R"({"a":1})");
  EXPECT_EQ(a.name, "POST http://a:8080/b");
  EXPECT_EQ(a.line, 1u);
  const auto& c = (*r)[1];
  EXPECT_EQ(c.method, "GET");
  EXPECT_EQ(c.headers, (headers{{"K", "v"}}));
  EXPECT_EQ(c.name, "the c page");
  EXPECT_EQ(c.line, 4u);
  EXPECT_EQ((*r)[2].body, "h\xc3\xa9llo\n");
  EXPECT_EQ((*r)[2].line, 5u);
}

TEST_F(targets_test, json_base64_bodies) {
  auto body = [&](std::string_view b64) -> std::string {
    auto r = parse(R"({"method":"POST","url":"http://a/","body":")" + std::string(b64) + "\"}");
    if (!r.ok()) return "error: " + r.error();
    return (*r)[0].body;
  };
  EXPECT_EQ(body(""), "");
  EXPECT_EQ(body("QQ=="), "A");
  EXPECT_EQ(body("QUI="), "AB");
  EXPECT_EQ(body("QUJD"), "ABC");
  EXPECT_EQ(body("AP8A"), std::string("\0\xff\0", 3));
  EXPECT_EQ(body("QUJD\\r\\nQUJD\\n"), "ABCABC");  // line breaks skipped, as Go does

  EXPECT_HAS(body("QQ"),
             "t.txt:1: \"body\" is not base64: its length is not a "
             "multiple of 4");
  EXPECT_HAS(body("QUJ-"),
             "t.txt:1: \"body\" is not base64: the character '-' at "
             "offset 3 is not in the base64 alphabet");
  EXPECT_HAS(body("QQ==QUJD"), "'=' comes before the end");
  EXPECT_HAS(body("Q==="), "too much '=' padding");
  EXPECT_HAS(body("aGVsbG8gd29ybGQ"), "body_text");  // the hint for plain text
}

TEST_F(targets_test, json_errors) {
  const std::string ok = R"({"method":"GET","url":"http://a/"})";
  auto e = error(ok + "\n" + ok + "\n{\"method\":\"GET\",\"url\":\"http://a/\"\n");
  EXPECT_HAS(e, "t.txt:3: invalid JSON at column");
  EXPECT_HAS(error(ok + "\n[1,2]\n"), "t.txt:2: each line is one JSON object");
  EXPECT_HAS(error(ok + "\n\"GET http://a/\"\n", targets_format::json),
             "t.txt:2: each line is one JSON object");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","hedaers":{},"bdy":""})"),
             "t.txt:1: unknown key 'hedaers', 'bdy'");
  EXPECT_HAS(error(R"({"url":"http://a/"})"), "t.txt:1: the target has no \"method\"");
  EXPECT_HAS(error(R"({"method":"GET"})"), "t.txt:1: the target has no \"url\"");
  EXPECT_HAS(error(R"({"method":1,"url":"http://a/"})"), "t.txt:1: \"method\" must be a string");
  EXPECT_HAS(error(R"({"method":"G T","url":"http://a/"})"), "t.txt:1: bad method 'G T'");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/ x"})"),
             "t.txt:1: malformed URL 'http://a/ x'");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","body":"QQ==","body_text":"A"})"),
             "t.txt:1: use \"body\" (base64) or \"body_text\", not both");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":{},"header":{}})"),
             "t.txt:1: use \"headers\" or \"header\", not both");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":["A: b"]})"),
             "t.txt:1: \"headers\" is not an object");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":{"A":1}})"),
             "t.txt:1: header 'A' is not a string or an array of strings");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":{"A":["b",2]}})"),
             "t.txt:1: header 'A' is not a string or an array of strings");
  // A CR or LF in a value would smuggle a second request onto the wire.
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":{"A":"b\r\nX: y"}})"),
             "t.txt:1: header 'A: b\\r\\nX: y' has a control character");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":{"A B":"c"}})"),
             "t.txt:1: header 'A B: c' has a bad name");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","headers":{"Content-Length":["1"]}})"),
             "t.txt:1: header 'Content-Length: 1': hit frames the body itself");
  EXPECT_HAS(error(R"({"method":"GET","url":"http://a/","name":"other"})"),
             "t.txt:1: the name \"other\" is the breakdown's row");
  EXPECT_HAS(error(ok + "\n" + R"({"method":"GET","url":"http://b/"})"),
             "t.txt:2: http://b:80 is not the origin of the first target "
             "(http://a:80, line 1)");
}

TEST_F(targets_test, automatic_detection_and_forced_formats) {
  const std::string json =
      "# made by a script\n\n" + std::string(R"({"method":"GET","url":"http://a/"})");
  auto r = parse(json);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)[0].line, 3u);
  EXPECT_TRUE(parse(json, targets_format::json).ok());
  // Read as the http format, the object is not a target line.
  EXPECT_HAS(error(json, targets_format::http), "t.txt:3: ");
  // And an http file read as JSON lines is not JSON.
  EXPECT_HAS(error("GET http://a/\n", targets_format::json), "t.txt:1: invalid JSON");
  auto h = parse("# {not json}\nGET http://a/\n");
  ASSERT_TRUE(h.ok()) << h.error();
  EXPECT_EQ((*h)[0].method, "GET");
}

// ---- load_targets ------------------------------------------------------------------------

TEST_F(targets_test, load_reads_a_file_and_names_one_it_cannot_read) {
  write("body.bin", "payload");
  write("targets.txt", "POST http://a/\n@" + (dir_ / "body.bin").string() + "\n");
  const auto file = (dir_ / "targets.txt").string();
  auto r = load_targets(file, targets_format::automatic);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].body, "payload");

  write("bad.txt", "GET http://a/\nX\n");
  auto bad = load_targets((dir_ / "bad.txt").string(), targets_format::http);
  ASSERT_FALSE(bad.ok());
  EXPECT_HAS(bad.error(), (dir_ / "bad.txt").string() + ":2: header 'X' has no colon");

  auto missing = load_targets((dir_ / "nope.txt").string(), targets_format::automatic);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), "cannot read targets file '" + (dir_ / "nope.txt").string() +
                                 "': No such file or directory");
  auto directory = load_targets(dir_.string(), targets_format::automatic);
  ASSERT_FALSE(directory.ok());
  EXPECT_HAS(directory.error(), "cannot read targets file '" + dir_.string() + "'");
}

TEST_F(targets_test, load_resolves_relative_bodies_against_the_working_directory) {
  write("body.bin", "from cwd");
  write("targets.txt", "POST http://a/\n@body.bin\n");
  const auto before = fs::current_path();
  fs::current_path(dir_);
  auto r = load_targets("targets.txt", targets_format::http);
  fs::current_path(before);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ((*r)[0].body, "from cwd");

  fs::create_directories(dir_ / "sub");
  write("sub/targets.txt", "POST http://a/\n@body.bin\n");  // names dir_/sub/body.bin? No: cwd
  fs::current_path(dir_);
  auto s = load_targets("sub/targets.txt", targets_format::http);
  fs::current_path(before);
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_EQ((*s)[0].body, "from cwd");
}

}  // namespace

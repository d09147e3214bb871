#include "targets.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <unordered_map>

#include "hit/http/request_template.hpp"
#include "hit/printable.hpp"
#include "http_syntax.hpp"

namespace hit::cli {
namespace {

// ordered_json keeps an object's keys in the order written, so headers are sent in file order.
using json = nlohmann::ordered_json;

// The text as the user wrote it, quoted and safe to print on one line.
std::string echo(std::string_view text) {
  // (fmt, not "'" + std::string&&: GCC 12 at -O3 warns falsely of an overlapping memcpy there.)
  return fmt::format("'{}'", printable(text));
}

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A file's bytes, whole; or why not (strerror's words).
result<std::string> read_all(std::FILE* f) {
  std::string out;
  std::array<char, 1 << 16> buf{};
  for (;;) {
    const auto n = std::fread(buf.data(), 1, buf.size(), f);
    out.append(buf.data(), n);
    if (n < buf.size()) break;
  }
  if (std::ferror(f)) return failure{std::strerror(errno)};
  return out;
}

result<std::string> read_file(const std::filesystem::path& path) {
  struct closer {
    void operator()(std::FILE* f) const { std::fclose(f); }
  };
  errno = 0;
  const std::unique_ptr<std::FILE, closer> f(std::fopen(path.c_str(), "rb"));
  if (!f) return failure{std::strerror(errno)};
  return read_all(f.get());
}

// Base64 as vegeta writes a JSON body (Go's encoding/json: RFC 4648 section 4, with '='
// padding; Go's decoder skips CR and LF, and so does this). Written here rather than taken from
// a library because those at hand accept malformed input: OpenSSL's EVP_DecodeBlock reads '='
// anywhere as zero bits, and Boost.Beast's (a detail API) stops quietly at the first bad
// character.
result<std::string> decode_base64(std::string_view text) {
  static constexpr std::string_view alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(text.size() / 4 * 3);
  std::uint32_t group = 0;  // the sextets of the current quantum
  std::size_t in_group = 0, padding = 0, symbols = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') continue;
    ++symbols;
    if (c == '=') {
      ++padding;
      continue;
    }
    const auto v = alphabet.find(c);
    if (v == std::string_view::npos)
      return failure{"the character " + echo(std::string_view(&text[i], 1)) + " at offset " +
                     std::to_string(i) + " is not in the base64 alphabet"};
    if (padding > 0) return failure{"'=' comes before the end"};
    group = (group << 6) | static_cast<std::uint32_t>(v);
    if (++in_group == 4) {
      out += static_cast<char>((group >> 16) & 0xff);
      out += static_cast<char>((group >> 8) & 0xff);
      out += static_cast<char>(group & 0xff);
      group = 0;
      in_group = 0;
    }
  }
  if (symbols % 4 != 0)
    return failure{"its length is not a multiple of 4 (is the '=' padding missing?)"};
  if (padding > 2 || (padding > 0 && in_group + padding != 4))
    return failure{"too much '=' padding"};
  if (in_group == 3) {  // 18 bits: two bytes and 2 spare bits
    out += static_cast<char>((group >> 10) & 0xff);
    out += static_cast<char>((group >> 2) & 0xff);
  } else if (in_group == 2) {  // 12 bits: one byte and 4 spare bits
    out += static_cast<char>((group >> 4) & 0xff);
  }
  return out;
}

// Why a header cannot be sent, in the words -H uses; nullopt when it can.
std::optional<std::string> header_problem(std::string_view name, std::string_view value,
                                          std::string_view as_written) {
  if (!is_token(name))
    return "header " + echo(as_written) +
           " has a bad name: letters, digits and !#$%&'*+-.^_`|~ only";
  if (!is_field_value(value))
    return "header " + echo(as_written) + " has a control character (CR, LF, NUL...) in its value";
  if (is_framing_header(name))
    return "header " + echo(as_written) +
           ": hit frames the body itself (Content-Length from the target's body)";
  return std::nullopt;
}

std::string origin_of(const http::url& u) {
  const bool ipv6 = u.host.find(':') != std::string::npos;
  return u.scheme + "://" + (ipv6 ? "[" + u.host + "]" : u.host) + ":" + u.port;
}

bool same_origin(const http::url& a, const http::url& b) {
  // parse_url lowercases the scheme and canonicalises the port; DNS names are case-blind.
  return a.scheme == b.scheme && a.port == b.port && http::iequals(a.host, b.host);
}

// What both formats share: where the text is, the targets so far and the rules every target
// obeys (method, URL, origin, count), and the body files read so far.
class builder {
 public:
  builder(std::string_view source, const std::filesystem::path& base_dir, bool templates)
      : source_(printable(source)), base_dir_(base_dir), templates_(templates) {}

  failure fail(std::size_t line, const std::string& what) const {
    return failure{source_ + ":" + std::to_string(line) + ": " + what};
  }

  // A new target from its method and URL as written; nullopt, or the line's failure.
  std::optional<failure> start(std::size_t line, std::string_view method, std::string_view url,
                               std::string name) {
    if (targets_.size() == max_targets)
      return fail(line, "more than " + std::to_string(max_targets) +
                            " targets: hit takes at most that many in one run");
    if (!is_token(method))
      return fail(line,
                  "bad method " + echo(method) + ": letters, digits and !#$%&'*+-.^_`|~ only");
    auto u = templates_ ? http::request_template::parse_url(url) : http::parse_url(url);
    if (!u) return fail(line, u.error());
    if (!targets_.empty() && !same_origin(targets_.front().url, *u))
      return fail(line, origin_of(*u) + " is not the origin of the first target (" +
                            origin_of(targets_.front().url) + ", line " +
                            std::to_string(targets_.front().line) +
                            "): all targets of a run share one origin");
    target t;
    t.method = std::string(method);
    for (auto& c : t.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    t.url = std::move(*u);
    t.name = std::move(name);
    t.line = line;
    targets_.push_back(std::move(t));
    return std::nullopt;
  }

  target& current() { return targets_.back(); }

  // The current target's body, from a file read once however many targets name it: later
  // targets copy it from the first, so no third copy is kept.
  std::optional<failure> read_body(std::size_t line, std::string_view path_text) {
    const std::filesystem::path written{std::string(path_text)};
    const auto path = written.is_relative() && !base_dir_.empty() ? base_dir_ / written : written;
    if (const auto it = bodies_.find(path.string()); it != bodies_.end()) {
      current().body = targets_[it->second].body;
      return std::nullopt;
    }
    // A regular file, as -D wants: a device or a pipe could be endless (@/dev/zero).
    std::error_code ec;
    auto bytes = std::filesystem::exists(path, ec) && !std::filesystem::is_regular_file(path, ec)
                     ? result<std::string>(failure{"not a regular file"})
                     : read_file(path);
    if (!bytes) {
      std::string where = echo(path_text);
      if (path != written) where += " (" + echo(path.string()) + ")";
      return fail(line, "cannot read body file " + where + ": " + bytes.error());
    }
    current().body = std::move(*bytes);
    bodies_.emplace(path.string(), targets_.size() - 1);
    return std::nullopt;
  }

  result<std::vector<target>> finish() && {
    if (targets_.empty()) return failure{"no targets in " + source_};
    return std::move(targets_);
  }

 private:
  std::string source_;
  std::filesystem::path base_dir_;
  bool templates_ = false;  // URLs may hold {{...}} in their path and query
  std::vector<target> targets_;
  std::unordered_map<std::string, std::size_t> bodies_;  // body file -> first target using it
};

// The lines of a text, numbered from 1, each without its line ending (LF or CRLF) and without
// the spaces and tabs around it.
class lines {
 public:
  explicit lines(std::string_view text) : text_(text) {
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") text_.remove_prefix(3);  // UTF-8 byte order mark
  }

  bool next() {
    if (pos_ > text_.size()) return false;
    const auto nl = text_.find('\n', pos_);
    const auto end = nl == std::string_view::npos ? text_.size() : nl;
    auto line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;  // past the end after the last line: next() is false from then on
    ++number_;
    line_ = trim(line);
    return true;
  }

  [[nodiscard]] std::string_view text() const { return line_; }
  [[nodiscard]] std::size_t number() const { return number_; }
  // Blank lines and comments carry no target.
  [[nodiscard]] bool skip() const { return line_.empty() || line_.front() == '#'; }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
  std::size_t number_ = 0;
  std::string_view line_;
};

// vegeta's test for a line that starts the next target where a header could be: an uppercase
// word and a space (vegeta applies it only right after a METHOD URL line; here after headers
// too). No header line looks like that, but for a space before the colon ("X : v"), which
// vegeta reads as a header, so a colon after the word keeps the line a header.
bool starts_target(std::string_view line) {
  const auto word = line.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ");
  if (word == 0 || word == std::string_view::npos || (line[word] != ' ' && line[word] != '\t'))
    return false;
  const auto next = line.find_first_not_of(" \t", word);
  return next != std::string_view::npos && line[next] != ':';
}

constexpr std::string_view target_shape =
    "a target is METHOD URL, its headers (Name: value), then at most one @file line";

result<std::vector<target>> parse_http(std::string_view text, builder b) {
  lines in(text);
  bool in_target = false;   // after a METHOD URL line, where headers and a body line may come
  bool after_body = false;  // the last target ended with its body line, no blank line since
  while (in.next()) {
    const auto line = in.text();
    const auto n = in.number();
    if (line.empty()) {
      in_target = after_body = false;
      continue;
    }
    if (line.front() == '#') continue;
    if (in_target && line.front() == '@') {
      const auto path = trim(line.substr(1));
      if (path.empty()) return b.fail(n, "the body line '@' names no file");
      if (auto f = b.read_body(n, path)) return *f;
      in_target = false;
      after_body = true;
      continue;
    }
    if (in_target && !starts_target(line)) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos)
        return b.fail(n, "header " + echo(line) +
                             " has no colon: use Name: value (a blank line ends a target)");
      const auto name = trim(line.substr(0, colon));
      const auto value = trim(line.substr(colon + 1));
      if (auto why = header_problem(name, value, line)) return b.fail(n, *why);
      b.current().headers.emplace_back(name, value);
      continue;
    }
    // A target starts here.
    if (line.front() == '@')
      return b.fail(
          n, "the body line " + echo(line) + " belongs to no target: " + std::string(target_shape));
    const auto space = line.find_first_of(" \t");
    const auto method = line.substr(0, space);
    const auto colon = line.find(':');
    if (colon < space && is_token(line.substr(0, colon)) && line.substr(colon, 3) != "://")
      return b.fail(n, "expected a target (METHOD URL), got the header " + echo(line) +
                           (after_body ? ": headers come before the target's @file line"
                                       : ": " + std::string(target_shape)));
    if (method.find("://") != std::string_view::npos)
      return b.fail(n, echo(line) + " has no method: a target line is METHOD URL");
    if (space == std::string_view::npos)
      return b.fail(n, echo(line) + " is not a target: " + std::string(target_shape) +
                           ", e.g. GET http://127.0.0.1:8080/");
    const auto url = trim(line.substr(space));
    if (url.find_first_of(" \t") != std::string_view::npos)
      return b.fail(n, echo(line) + " has text after the URL: a target line is METHOD URL");
    if (auto f = b.start(n, method, url, std::string(method) + " " + std::string(url))) return *f;
    in_target = true;
    after_body = false;
  }
  return std::move(b).finish();
}

// Why a JSON line does not parse, from nlohmann's own message, found without exceptions: a
// SAX handler that accepts every value and keeps the first error.
std::string json_error(std::string_view line) {
  struct first_error : nlohmann::json_sax<json> {
    std::string message;
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const json::exception& ex) override {
      // "[json.exception.parse_error.101] parse error at line 1, column 7: syntax error ...":
      // its line is always 1 (the parser sees one line), so only the column is kept.
      message = ex.what();
      if (const auto at = message.find("column "); at != std::string::npos)
        message = "at " + message.substr(at);
      return false;
    }
  };
  first_error sax;
  json::sax_parse(line, &sax, json::input_format_t::json, true, false);
  return sax.message.empty() ? std::string(": not JSON") : " " + printable(sax.message, 300);
}

result<std::vector<target>> parse_json(std::string_view text, builder b) {
  static constexpr std::array<std::string_view, 7> known = {
      "method", "url", "headers", "header", "body", "body_text", "name"};
  lines in(text);
  while (in.next()) {
    if (in.skip()) continue;
    const auto n = in.number();
    const json j = json::parse(in.text(), nullptr, false);
    if (j.is_discarded()) return b.fail(n, "invalid JSON" + json_error(in.text()));
    if (!j.is_object())
      return b.fail(n, "each line is one JSON object, e.g. " +
                           std::string(R"({"method":"GET","url":"http://127.0.0.1:8080/"})"));

    std::string unknown;
    for (const auto& [key, value] : j.items())
      if (std::find(known.begin(), known.end(), key) == known.end())
        unknown += (unknown.empty() ? "" : ", ") + echo(key);
    if (!unknown.empty())
      return b.fail(n, "unknown key " + unknown +
                           ": a target has method, url, headers, body (base64), body_text, name");

    // A string member, absent (nullopt) or null; a failure when of another type.
    auto text_of = [&](const char* key) -> result<std::optional<std::string>> {
      const auto it = j.find(key);
      if (it == j.end() || it->is_null()) return std::optional<std::string>{};
      if (!it->is_string()) return b.fail(n, "\"" + std::string(key) + "\" must be a string");
      return std::optional<std::string>{it->get<std::string>()};
    };
    auto method = text_of("method");
    if (!method) return failure{method.error()};
    if (!*method) return b.fail(n, "the target has no \"method\"");
    auto url = text_of("url");
    if (!url) return failure{url.error()};
    if (!*url) return b.fail(n, "the target has no \"url\"");
    auto name = text_of("name");
    if (!name) return failure{name.error()};
    // (The breakdown's row for the names past the first 1000: one of its own would merge with it.)
    if (*name && **name == "other")
      return b.fail(n,
                    "the name \"other\" is the breakdown's row for targets past the first "
                    "1000: choose another");
    if (auto f = b.start(n, **method, **url, *name ? **name : **method + " " + **url)) return *f;

    if (j.contains("headers") && j.contains("header"))
      return b.fail(n, "use \"headers\" or \"header\", not both");
    const auto h = j.contains("headers") ? j.find("headers") : j.find("header");
    if (h != j.end() && !h->is_null()) {
      constexpr std::string_view shape = R"(: use {"Name":"value"} or {"Name":["value","value"]})";
      if (!h->is_object()) return b.fail(n, "\"headers\" is not an object" + std::string(shape));
      for (const auto& [hname, hvalue] : h->items()) {
        std::vector<std::string> values;
        if (hvalue.is_string()) {
          values.push_back(hvalue.get<std::string>());
        } else if (hvalue.is_array() && std::all_of(hvalue.begin(), hvalue.end(),
                                                    [](const json& v) { return v.is_string(); })) {
          for (const auto& v : hvalue) values.push_back(v.get<std::string>());
        } else {
          return b.fail(n, "header " + echo(hname) + " is not a string or an array of strings" +
                               std::string(shape));
        }
        for (auto& v : values) {
          if (auto why = header_problem(hname, v, hname + ": " + v)) return b.fail(n, *why);
          b.current().headers.emplace_back(hname, std::move(v));
        }
      }
    }

    auto body = text_of("body");
    if (!body) return failure{body.error()};
    auto body_text = text_of("body_text");
    if (!body_text) return failure{body_text.error()};
    if (*body && *body_text) return b.fail(n, "use \"body\" (base64) or \"body_text\", not both");
    if (*body) {
      auto bytes = decode_base64(**body);
      if (!bytes)
        return b.fail(n, "\"body\" is not base64: " + bytes.error() +
                             "; \"body_text\" takes a plain text body");
      b.current().body = std::move(*bytes);
    } else if (*body_text) {
      b.current().body = std::move(**body_text);
    }
  }
  return std::move(b).finish();
}

targets_format detect(std::string_view text) {
  lines in(text);
  while (in.next())
    if (!in.skip()) return in.text().front() == '{' ? targets_format::json : targets_format::http;
  return targets_format::http;
}

}  // namespace

result<std::vector<target>> parse_targets(std::string_view text, std::string_view source,
                                          targets_format fmt, const std::filesystem::path& base_dir,
                                          bool templates) {
  // Setup code, but errors are values across this API: running out of memory (a huge body
  // file, a million targets) is one more of them.
  try {
    if (fmt == targets_format::automatic) fmt = detect(text);
    builder b(source, base_dir, templates);
    return fmt == targets_format::json ? parse_json(text, std::move(b))
                                       : parse_http(text, std::move(b));
  } catch (const std::bad_alloc&) {
    return failure{printable(source) + ": not enough memory to hold its targets"};
  } catch (const std::length_error&) {
    return failure{printable(source) + ": not enough memory to hold its targets"};
  }
}

result<std::vector<target>> load_targets(const std::string& path, targets_format fmt,
                                         bool templates) {
  const bool in = path == "-";
  auto text = in ? read_all(stdin) : read_file(path);
  if (!text)
    return failure{(in ? std::string("cannot read standard input")
                       : "cannot read targets file " + echo(path)) +
                   ": " + text.error()};
  return parse_targets(*text, in ? "stdin" : path, fmt, {}, templates);
}

}  // namespace hit::cli

#include "hit/http/request_template.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

#include "detail/splitmix64.hpp"
#include "hit/printable.hpp"

namespace hit::http {
namespace {

// Placeholders stand in build_request's output as "\x01" INDEX "\x02" (control bytes that a
// request target or header value checked by the caller cannot hold), the body as "\x03".
constexpr char mark_open = '\x01', mark_close = '\x02', body_mark = '\x03';

// The most bytes a number placeholder writes: a 64-bit integer, sign included.
constexpr std::size_t max_number = 20;

// "000102...ff": the two hex digits of each byte value.
constexpr auto hex_pairs = [] {
  std::array<char, 512> t{};
  constexpr char digit[] = "0123456789abcdef";
  for (std::size_t b = 0; b < 256; ++b) {
    t[2 * b] = digit[b >> 4];
    t[2 * b + 1] = digit[b & 0xf];
  }
  return t;
}();

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c < 0x20 && c != '\t') || c == 0x7f;
  });
}

// {{line FILE}}'s lines, read once per process however many requests (targets, and the
// options' check before the engine's) name the file: setup only, under a lock.
result<std::shared_ptr<const std::vector<std::string>>> read_lines(const std::string& path) {
  static std::mutex m;
  static std::map<std::string, std::shared_ptr<const std::vector<std::string>>> read;
  const std::lock_guard lock(m);
  if (const auto it = read.find(path); it != read.end()) return it->second;
  // A regular file: a device or a pipe could be endless ({{line /dev/zero}}).
  std::error_code ec;
  std::ifstream f;
  if (std::filesystem::is_regular_file(path, ec)) f.open(path, std::ios::binary);
  if (!f.is_open())
    return failure{"cannot read '" + printable(path) + "': not a readable regular file"};
  auto lines = std::make_shared<std::vector<std::string>>();
  for (std::string l; std::getline(f, l);) {
    if (!l.empty() && l.back() == '\r') l.pop_back();
    lines->push_back(std::move(l));
  }
  if (lines->empty()) return failure{"'" + printable(path) + "' has no line"};
  read.emplace(path, lines);
  return std::shared_ptr<const std::vector<std::string>>(std::move(lines));
}

}  // namespace

result<url> request_template::parse_url(std::string_view text) {
  // Each "{{...}}" stands in as a token of unreserved characters while the URL is parsed.
  std::vector<std::string> held;
  std::string plain;
  std::size_t pos = 0;
  // (A prefix the text does not hold, so that no literal part of it is taken for a token.)
  std::string prefix = "~~h";
  while (text.find(prefix) != std::string_view::npos) prefix += 'h';
  const auto token = [&](std::size_t i) { return prefix + std::to_string(i) + "~~"; };
  for (;;) {
    const auto open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    const auto close = text.find("}}", open + 2);
    if (close == std::string_view::npos)
      return failure{"template: the URL at byte " + std::to_string(open) +
                     ": '{{' without its '}}'"};
    plain.append(text.substr(pos, open - pos));
    plain += token(held.size());
    held.emplace_back(text.substr(open, close + 2 - open));
    pos = close + 2;
  }
  plain.append(text.substr(pos));
  auto u = http::parse_url(plain);
  if (!u) return u;
  if (u->authority.find(prefix) != std::string::npos)
    return failure{
        "template: placeholders go in the URL's path and query, not in its host or "
        "port: '" +
        printable(text) + "'"};
  for (std::size_t i = 0; i < held.size(); ++i) {
    const auto at = u->target.find(token(i));
    if (at == std::string::npos)
      return failure{"template: a placeholder in a fragment is never sent: '" + printable(text) +
                     "'"};
    u->target.replace(at, token(i).size(), held[i]);
  }
  return u;
}

bool request_template::has_placeholders(const url& target, const request_spec& spec) {
  if (target.target.find("{{") != std::string::npos) return true;
  if (spec.body.find("{{") != std::string::npos) return true;
  return std::any_of(spec.headers.begin(), spec.headers.end(),
                     [](const auto& h) { return h.second.find("{{") != std::string::npos; });
}

result<request_template> request_template::make(const url& target, const request_spec& spec) {
  request_template t;
  std::vector<piece> placeholders;  // by index, as marked in the target and header values
  std::vector<std::string> file_names;
  // Splits `text` into literals and placeholders: the literals appended to `out` (marked, or
  // as pieces when `pieces` is set), the placeholders to `placeholders` (marked in `out`).
  // `part`: what a {{line FILE}} here may not hold (the body: anything goes).
  enum class part { request_target, header, body };
  const auto parse = [&](std::string_view text, const std::string& where, part where_in,
                         std::string* marked,
                         std::vector<piece>* pieces) -> std::optional<failure> {
    std::size_t pos = 0;
    while (pos <= text.size()) {
      const auto open = text.find("{{", pos);
      const auto literal =
          text.substr(pos, open == std::string_view::npos ? text.npos : open - pos);
      if (marked) marked->append(literal);
      if (pieces && !literal.empty()) pieces->push_back(piece::literal(literal));
      if (open == std::string_view::npos) break;
      const auto close = text.find("}}", open + 2);
      const auto at = where + " at byte " + std::to_string(open);
      if (close == std::string_view::npos)
        return failure{"template: " + at + ": '{{' without its '}}'"};
      // The words inside, split on spaces.
      std::vector<std::string> words;
      std::istringstream in{std::string(text.substr(open + 2, close - open - 2))};
      for (std::string w; in >> w;) words.push_back(w);
      const auto found = "'" + printable(text.substr(open, close + 2 - open), 60) + "'";
      piece p;
      if (words.size() == 1 && words[0] == "seq") {
        p.what = kind::seq;
      } else if (words.size() == 1 && words[0] == "uuid") {
        p.what = kind::uuid;
      } else if (words.size() == 1 && words[0] == "time_ms") {
        p.what = kind::time_ms;
      } else if (!words.empty() && words[0] == "rand") {
        const auto number = [](const std::string& s, std::int64_t& v) {
          const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
          return ec == std::errc{} && ptr == s.data() + s.size();
        };
        if (words.size() != 3 || !number(words[1], p.lo) || !number(words[2], p.hi) || p.lo > p.hi)
          return failure{"template: " + at + ": " + found +
                         " wants {{rand LO HI}}, two integers with LO <= HI"};
        p.what = kind::rand;
      } else if (!words.empty() && words[0] == "line") {
        if (words.size() != 2)
          return failure{"template: " + at + ": " + found + " wants {{line FILE}}, one file name"};
        p.what = kind::line;
        const auto known = std::find(file_names.begin(), file_names.end(), words[1]);
        p.file = static_cast<std::size_t>(known - file_names.begin());
        if (known == file_names.end()) {
          auto lines = read_lines(words[1]);
          if (!lines) return failure{"template: " + at + ": " + lines.error()};
          file_names.push_back(words[1]);
          t.files_.push_back(std::move(*lines));
        }
        // A header value may not hold a control byte (it would end the header, and could
        // smuggle a request); the request target, nor a space, '#' or a byte beyond ASCII (it
        // would end the request line, or not be sent), nor one RFC 3986 leaves out of a URL
        // ("<>\^`{|}), which strict servers refuse.
        const auto unfit = [where_in](const std::string& l) {
          if (where_in == part::body) return false;
          if (has_control(l)) return true;
          return where_in == part::request_target && std::any_of(l.begin(), l.end(), [](char c) {
                   return std::string_view(" \t#\"<>\\^`{|}").find(c) != std::string_view::npos ||
                          static_cast<unsigned char>(c) > 0x7e;
                 });
        };
        const auto& lines = *t.files_[p.file];
        if (const auto bad = std::find_if(lines.begin(), lines.end(), unfit); bad != lines.end())
          return failure{"template: " + at + ": line " + std::to_string(bad - lines.begin() + 1) +
                         " of '" + printable(words[1]) + "' has a byte " + where +
                         (where_in == part::request_target
                              ? " cannot carry (a control byte, a space, one of #\"<>\\^`{|}, or a "
                                "byte beyond ASCII)"

                              : " cannot carry (a control byte)")};
      } else {
        return failure{"template: " + at + ": unknown placeholder " + found +
                       " (use {{seq}}, {{rand LO HI}}, {{uuid}}, {{line FILE}}, {{time_ms}})"};
      }
      if (pieces) {
        pieces->push_back(std::move(p));
      } else {
        *marked += mark_open + std::to_string(placeholders.size()) + mark_close;
        placeholders.push_back(std::move(p));
      }
      pos = close + 2;
    }
    return std::nullopt;
  };

  // The request target and header values, marked; the body, as pieces.
  url marked_url = target;
  marked_url.target.clear();
  if (auto f = parse(target.target, "the request target", part::request_target, &marked_url.target,
                     nullptr))
    return *f;
  request_spec marked = spec;
  // (The marks are control bytes: a caller that let one into a header would confuse them.)
  for (const auto& [name, value] : spec.headers)
    if (has_control(name) || has_control(value))
      return failure{"template: header " + printable(name) + " has a control byte"};
  for (auto& [name, value] : marked.headers) {
    std::string v;
    if (auto f = parse(value, "header " + printable(name), part::header, &v, nullptr)) return *f;
    value = std::move(v);
  }
  if (auto f = parse(spec.body, "the body", part::body, nullptr, &t.body_)) return *f;
  const bool body_varies = std::any_of(t.body_.begin(), t.body_.end(),
                                       [](const piece& p) { return p.what != kind::literal; });
  // A body that varies is one mark, whose length build_request writes as 1: that line becomes
  // the length's placeholder. A fixed body stays in the bytes as it is.
  marked.body = body_varies ? std::string(1, body_mark) : spec.body;
  const auto bytes = build_request(marked_url, std::move(marked));
  std::string head = bytes.head + bytes.body;
  if (body_varies) {
    const std::string fixed = "\r\nContent-Length: 1\r\n";
    const auto at = head.find(fixed);
    head.replace(at, fixed.size(),
                 std::string("\r\nContent-Length: ") + mark_open + "L" + mark_close + "\r\n");
    head.pop_back();  // the body's mark: the body pieces follow the head
  } else {
    t.body_.clear();
  }
  // The marked bytes as pieces: the request line and headers, up to their empty line, hold
  // marks; what follows is a fixed body, bytes as they are (any byte, marks' included).
  const auto fields_end = head.find("\r\n\r\n") + 4;
  std::size_t pos = 0;
  while (pos < fields_end) {
    const auto open = std::min(head.find(mark_open, pos), fields_end);
    if (open > pos) t.head_.push_back(piece::literal(head.substr(pos, open - pos)));
    if (open == fields_end) break;
    const auto close = head.find(mark_close, open);
    const auto id = head.substr(open + 1, close - open - 1);
    if (id == "L") {
      piece length;
      length.what = kind::length;
      t.head_.push_back(std::move(length));
    } else {
      t.head_.push_back(placeholders[std::stoul(id)]);
    }
    pos = close + 1;
  }
  // A fixed body is sent from the template's one copy, not rendered per request.
  t.fixed_body_ = head.substr(fields_end);
  // The most each piece can write.
  const auto most = [&](const piece& p) -> std::size_t {
    switch (p.what) {
      case kind::literal:
        return p.text.size();
      case kind::uuid:
        return 36;
      case kind::line: {
        std::size_t longest = 0;
        for (const auto& l : *t.files_[p.file]) longest = std::max(longest, l.size());
        return longest;
      }
      default:
        return max_number;  // seq, rand, time_ms, the length
    }
  };
  for (const auto& p : t.head_) t.head_max_ += most(p);
  for (const auto& p : t.body_) t.body_max_ += most(p);
  // Each connection holds a buffer this large: a templated request is kept small.
  constexpr std::size_t limit = 1 << 20;
  if (t.max_size() > limit)
    return failure{"template: a templated request may take up to " + std::to_string(t.max_size()) +
                   " bytes; at most 1 MiB (" + std::to_string(limit) + ")"};
  return t;
}

inline std::size_t request_template::put(const piece& p, const inputs& in,
                                         char* out) const noexcept {
  const auto number = [&](auto v) {
    // (Every number has 20 bytes of room: max_size() counts that much for each.)
    return static_cast<std::size_t>(std::to_chars(out, out + max_number, v).ptr - out);
  };
  switch (p.what) {
    case kind::literal:
      std::memcpy(out, p.text.data(), p.text.size());
      return p.text.size();
    case kind::seq:
      return number(in.seq);
    case kind::rand: {
      const auto span = static_cast<std::uint64_t>(p.hi) - static_cast<std::uint64_t>(p.lo);
      const auto r = detail::next_random(*in.random);
      const auto offset = span == UINT64_MAX ? r : r % (span + 1);
      return number(static_cast<std::int64_t>(static_cast<std::uint64_t>(p.lo) + offset));
    }
    case kind::uuid: {
      std::uint64_t a = detail::next_random(*in.random), b = detail::next_random(*in.random);
      a = (a & ~0xf000ULL) | 0x4000ULL;        // version 4
      b = (b & ~(3ULL << 62)) | (2ULL << 62);  // variant 10
      // 8-4-4-4-12 hex digits, a byte at a time through a table of digit pairs, unrolled (a
      // digit at a time in a loop cost ~350 instructions per UUID; this, under 100).
      const auto hex = [&](std::uint64_t word, int bytes, char* at) {
        for (int i = bytes - 1; i >= 0; --i, at += 2)
          std::memcpy(at, hex_pairs.data() + 2 * ((word >> (8 * i)) & 0xff), 2);
      };
      hex(a >> 32, 4, out);
      out[8] = '-';
      hex(a >> 16, 2, out + 9);
      out[13] = '-';
      hex(a, 2, out + 14);
      out[18] = '-';
      hex(b >> 48, 2, out + 19);
      out[23] = '-';
      hex(b, 6, out + 24);
      return 36;
    }
    case kind::line: {
      const auto& lines = *files_[p.file];
      const auto& l = lines[in.seq % lines.size()];
      std::memcpy(out, l.data(), l.size());
      return l.size();
    }
    case kind::time_ms:
      return number(std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count());
    case kind::length:
      break;  // (render's own)
  }
  return 0;
}

std::size_t request_template::render(const inputs& in, char* out) const noexcept {
  std::size_t n = 0;
  if (body_.empty()) {
    for (const auto& p : head_) n += put(p, in, out + n);
    return n;
  }
  // A body that varies is written first, after the room the head may take, to know its
  // length; then the head, with that length; then the body is moved in after the head.
  char* const body_at = out + head_max_;
  std::size_t body = 0;
  for (const auto& p : body_) body += put(p, in, body_at + body);
  for (const auto& p : head_)
    n += p.what == kind::length
             ? static_cast<std::size_t>(std::to_chars(out + n, out + n + max_number, body).ptr -
                                        (out + n))
             : put(p, in, out + n);
  std::memmove(out + n, body_at, body);
  return n + body;
}

}  // namespace hit::http

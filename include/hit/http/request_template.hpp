#pragma once
// request_template: a request whose bytes change from one request to the next (--template):
// placeholders in the request target (path and query), in header values and in the body, each
// rendered per request into a buffer the caller owns and sized once, so that rendering never
// allocates.
//
//   {{seq}}            the request's number in the run (0, 1, 2, ...: unique across loops)
//   {{rand LO HI}}     a uniform integer in [LO, HI] (decimal, signed 64-bit, LO <= HI)
//   {{uuid}}           a random version 4 UUID (8-4-4-4-12 lower-case hex)
//   {{line FILE}}      line seq mod N of FILE (its N lines, read once; CR LF or LF): the lines
//                      in turn, cycling
//   {{time_ms}}        the Unix time in milliseconds when the request is rendered
//
// Spaces inside the braces separate the arguments; `{{` that does not start one of these is an
// error (the message names the part, the byte offset and what was found), so a typo is never
// sent as literal text. Literal `{{` cannot be written in a templated request. A body with
// placeholders gets its Content-Length per request. A value rendered into the request target
// or a header must keep it one line: {{line FILE}} there refuses a file whose lines hold a
// control byte (a body may hold any line).
//
// Thread safety: a template is immutable once made; render() may run on any number of threads
// at once, each with its own buffer and random state.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hit/http/request.hpp"
#include "hit/http/url.hpp"
#include "hit/result.hpp"

namespace hit::http {

class request_template {
 public:
  // What one render needs from its caller: the request's number, and a random state of the
  // caller's (splitmix64, advanced by each random placeholder).
  struct inputs {
    std::uint64_t seq = 0;
    std::uint64_t* random = nullptr;
  };

  // parse_url for a URL whose path or query hold placeholders: they are kept in the request
  // target as written (make() parses them), and refused in the scheme or authority.
  static result<url> parse_url(std::string_view text);

  // Whether `spec` or `target` hold a placeholder (`{{`), so that a run without any keeps its
  // one prebuilt request.
  static bool has_placeholders(const url& target, const request_spec& spec);

  // Parses the placeholders of `target`'s request target, `spec`'s header values and body, and
  // lays out the request as build_request would write it. Reads {{line FILE}} files (relative
  // to the working directory). Fails with one line: where (the request target, header NAME,
  // the body), the byte offset, and why.
  static result<request_template> make(const url& target, const request_spec& spec);

  // The most bytes render() writes: the size `out` needs.
  [[nodiscard]] std::size_t max_size() const noexcept { return head_max_ + body_max_; }

  // Writes the request for `in` to `out` (at least max_size() bytes) and returns its length:
  // all of it, but a body without placeholders, which follows as fixed_body().
  std::size_t render(const inputs& in, char* out) const noexcept;
  [[nodiscard]] std::string_view fixed_body() const noexcept { return fixed_body_; }

 private:
  enum class kind : std::uint8_t { literal, seq, rand, uuid, line, time_ms, length };
  struct piece {
    kind what = kind::literal;
    std::string text;             // literal: the bytes
    std::int64_t lo = 0, hi = 0;  // rand
    std::size_t file = 0;         // line: index into files_
    static piece literal(std::string_view bytes) {
      piece p;
      p.text = bytes;
      return p;
    }
  };
  // Writes `p` at `out`; returns the bytes written.
  [[gnu::always_inline]] std::size_t put(const piece& p, const inputs& in,
                                         char* out) const noexcept;

  std::vector<piece> head_;  // the request line and headers; `length` stands for Content-Length
  std::vector<piece> body_;
  // {{line FILE}}: each file's lines (shared by every template of the run naming it).
  std::vector<std::shared_ptr<const std::vector<std::string>>> files_;
  std::string fixed_body_;    // a body without placeholders, sent after the rendered head
  std::size_t head_max_ = 0;  // the most the head's pieces write
  std::size_t body_max_ = 0;  // and the body's (0: a fixed body, in fixed_body_)
};

}  // namespace hit::http

#pragma once
// targets: the requests of a run read from a file (--targets FILE), in vegeta's two formats,
// so a vegeta targets file runs under hit as it is.
//
// The http format (vegeta's default):
//
//   # a comment
//   GET http://127.0.0.1:8080/a
//   X-Header: v
//
//   POST http://127.0.0.1:8080/b
//   Content-Type: application/json
//   @body.json
//
//   - A target is a `METHOD URL` line, then its header lines `Name: value` in the order sent,
//     then at most one `@path` line: the body, the file's bytes read whole.
//   - Blank lines end a target; as in vegeta, a body line ends it too, and so does a line that
//     starts with an uppercase word and a space (`GET http://...`) where a header could be, so
//     targets may also follow each other with no blank line between.
//   - Lines whose first character (after spaces) is '#' are comments anywhere: between targets
//     as in vegeta, and also among a target's headers, where vegeta would misread them as
//     headers. (A header whose name starts with '#' cannot be written in this format.)
//   - Spaces and tabs around a line, around a header's name and around its value are dropped;
//     CRLF line endings, a UTF-8 byte order mark and a missing final newline are fine.
//   - A relative body path is resolved against `base_dir`. load_targets leaves it relative to
//     the working directory, as vegeta does (it opens the path as written), not to the targets
//     file's directory: the same file names the same bodies under both tools.
//
// The json format (vegeta's -format=json): one object per line,
//
//   {"method":"POST","url":"http://127.0.0.1:8080/b","headers":{"A":"x","B":["y","z"]},
//    "body":"eyJhIjoxfQ=="}
//
//   - "method" and "url" are required (as in vegeta). "headers" (or vegeta's "header", not
//     both) maps each name to a value or to an array of values, sent in the order written.
//   - "body" is base64 (RFC 4648 with '=' padding; line breaks inside are skipped), as vegeta
//     writes it; "body_text" is the body as literal text (the JSON string's UTF-8 bytes). At
//     most one of the two.
//   - "name" (as in vegeta) names the target in reports instead of "METHOD URL".
//   - Any other key is an error, so a misspelt key is not silently ignored. Blank lines and
//     '#' comment lines are skipped here too.
//
// In both formats the method is a token, uppercased as -X is (`get` sends GET); the URL is
// parsed by http::parse_url; a header name is a token, its value has no control byte, and
// Content-Length and Transfer-Encoding are refused (hit frames the body, as for -H). All targets
// share the first one's origin (scheme, host, port): a run's connections serve every target.
// At most max_targets targets. A body file named by several targets is read once; each target
// holds its own copy.
//
// Every failure is one line, `SOURCE:LINE: what is wrong`, with the user's text quoted and its
// control bytes escaped; a file with no target fails with `no targets in SOURCE`.
//
// Pure functions but for reading files (and standard input); call them from one thread, at setup.

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hit/http/url.hpp"
#include "hit/result.hpp"

namespace hit::cli {

// More targets than any real test needs, and few enough that their table fits in memory.
inline constexpr std::size_t max_targets = 1'000'000;

struct target {
  std::string method;                                        // an RFC 9110 token, uppercased
  http::url url;                                             // parsed with http::parse_url
  std::vector<std::pair<std::string, std::string>> headers;  // in file order
  std::string body;                                          // bytes (from @file, or JSON body)
  std::string name;      // "METHOD URL" as written (or JSON "name"), for reports
  std::size_t line = 0;  // 1-based line where it starts
};

enum class targets_format {
  automatic,  // json when the first non-blank, non-comment line starts with '{', else http
  http,       // vegeta's http format
  json,       // vegeta's JSON lines
};

// Parses `text` (a whole file). `source` names it in messages ("targets.txt", or "stdin").
// `base_dir` resolves relative `@body` paths (empty: relative to the working directory).
// `templates` (--template): a URL's path and query may hold {{...}} placeholders, kept as
// written (request_template::parse_url); the run checks them.
result<std::vector<target>> parse_targets(std::string_view text, std::string_view source,
                                          targets_format fmt, const std::filesystem::path& base_dir,
                                          bool templates = false);

// Reads `path` ("-" = standard input, named "stdin" in messages) and parses it, with relative
// body paths resolved against the working directory (as vegeta does); a file that cannot be
// read is an error naming it. Blocks until the file (or standard input) is read to its end.
result<std::vector<target>> load_targets(const std::string& path, targets_format fmt,
                                         bool templates = false);

}  // namespace hit::cli

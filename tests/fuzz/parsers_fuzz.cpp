// libFuzzer target for the parsers that read untrusted bytes: the HTTP response parser (fed in
// pieces, as a connection feeds it), the duration parser (options, server knobs) and the URL
// parser (whose output becomes the request line and the Host header, so must never carry a
// control byte or a port outside 1-65535), and the targets file parser (--targets: each target
// it accepts must be one a request can be built from without smuggling: token method and
// header names, header values without CR, LF or NUL, one origin; each failure one line), and
// the pipeline's receive side (--pipeline: answers parsed in place for a ring of requests, a
// HEAD among them, in pieces of any size; a read never offered a buffer with no room).
// Build and run with scripts/fuzz (clang's -fsanitize=fuzzer,address,undefined).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "detail/http1_pipeline.hpp"
#include "hit/http/request_template.hpp"
#include "hit/http/response_parser.hpp"
#include "hit/http/url.hpp"
#include "hit/stats/duration.hpp"
#include "targets.hpp"

namespace {

void fuzz_response(std::string_view data, std::size_t step, bool head) {
  hit::http::response_parser p(512);
  p.reset(head);
  std::string pending;
  std::size_t pos = 0;
  int responses = 0;
  while (pos < data.size()) {
    pending.append(data.substr(pos, step));
    pos += step;
    for (;;) {
      std::size_t used = 0;
      const auto st = p.feed(pending, used);
      if (used > pending.size()) std::abort();  // never consumes more than it was given
      pending.erase(0, used);
      if (st == hit::http::parse_status::error) return;
      if (st == hit::http::parse_status::need_more) {
        if (pending.size() > 4096) return;  // the connection would report a too-large header
        break;
      }
      if (p.status() > 999) std::abort();             // three digits; 000-099 count as "other"
      if (head && p.body_bytes() != 0) std::abort();  // HEAD responses carry no body
      if (++responses > 64) return;
      p.reset(head);
    }
  }
  (void)p.feed_eof();
}

void fuzz_pipeline(std::string_view data, std::size_t step) {
  using hit::http::parse_status;
  using namespace hit::http::detail;
  static const std::vector<prepared_request> requests = [] {
    std::vector<prepared_request> r(2);
    r[0].http1.head = "GET / HTTP/1.1\r\n\r\n";
    r[1].http1.head = "HEAD / HTTP/1.1\r\n\r\n";
    r[1].head = true;
    return r;
  }();
  http1_pipeline p(requests, 4, 0);
  std::uint64_t random = 1, next = 0;
  std::size_t pos = 0;
  for (;;) {
    for (; !p.full(); ++next) {
      in_flight rec;
      rec.target = static_cast<std::uint32_t>(next % 3 == 2);
      rec.seq = next;
      p.push(rec, random);
    }
    while (p.unwritten()) {
      p.stage(clock::now());
      p.wrote(p.output().size());
    }
    auto room = p.read_buffer();
    if (room.size() == 0) std::abort();  // a read into no room would never end
    if (pos >= data.size()) break;
    const auto n = std::min({step, room.size(), data.size() - pos});
    std::memcpy(room.data(), data.data() + pos, n);
    pos += n;
    p.received(n);
    while (!p.empty() && p.buffered()) {
      const auto seq = p.front().seq;
      const auto st = p.parse();
      if (st == parse_status::error) return;
      if (st == parse_status::need_more) break;
      if (p.front().seq != seq || p.front().bytes_in == 0) std::abort();
      p.pop();
    }
    if (p.empty() && p.buffered()) return;  // unsolicited: the connection would close
  }
  if (!p.empty()) (void)p.eof();
}

void fuzz_url(std::string_view data) {
  const auto u = hit::http::parse_url(data);
  if (!u) {
    if (u.error().find_first_of("\r\n") != std::string::npos) std::abort();  // one line
    return;
  }
  const auto clean = [](const std::string& s) {
    for (const char c : s)
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f)
        return false;
    return true;
  };
  if (!clean(u->target) || !clean(u->authority) || !clean(u->port)) std::abort();
  if (u->target.empty() || u->target.front() != '/') std::abort();
  const unsigned long port = std::strtoul(u->port.c_str(), nullptr, 10);
  if (port < 1 || port > 65535 || std::to_string(port) != u->port) std::abort();
}

void fuzz_targets(std::string_view data) {
  // (A body path resolves against a directory that does not exist; absolute ones may name any
  // regular file, which is only read.)
  const auto t = hit::cli::parse_targets(data, "fuzz", hit::cli::targets_format::automatic,
                                         "/nonexistent/hit-fuzz");
  if (!t) {
    if (t.error().find_first_of("\r\n") != std::string::npos) std::abort();
    return;
  }
  if (t->empty()) std::abort();  // "no targets" is an error
  const auto bad_byte = [](std::string_view s) {
    for (const char c : s)
      if (c == '\r' || c == '\n' || c == '\0') return true;
    return false;
  };
  for (const auto& x : *t) {
    if (x.method.empty() || bad_byte(x.method)) std::abort();
    if (x.url.scheme != t->front().url.scheme || x.url.port != t->front().url.port) std::abort();
    for (const auto& [name, value] : x.headers)
      if (name.empty() || bad_byte(name) || bad_byte(value) || name.find(':') != std::string::npos)
        std::abort();
  }
}

// --template: whatever make() accepts renders within max_size(), with a Content-Length that is
// the rendered body's.
void fuzz_template(std::string_view data) {
  const auto cut = data.find('\n');
  const auto path = data.substr(0, cut);
  hit::http::request_spec spec;
  spec.method = "POST";
  if (cut != std::string_view::npos) spec.body = data.substr(cut + 1);
  const auto u = hit::http::request_template::parse_url("http://h/" + std::string(path));
  if (!u) return;
  const auto t = hit::http::request_template::make(*u, spec);
  if (!t) {
    if (t.error().find_first_of("\r\n") != std::string::npos) std::abort();
    return;
  }
  std::string out(t->max_size(), '\0');
  std::uint64_t random = 1;
  for (std::uint64_t seq : {0ULL, 7ULL, 18446744073709551615ULL}) {
    const auto n = t->render({seq, &random}, out.data());
    if (n > out.size()) std::abort();
    const std::string_view req(out.data(), n);
    const auto end = req.find("\r\n\r\n");
    const auto cl = req.find("\r\nContent-Length: ");
    if (end == std::string_view::npos || cl == std::string_view::npos || cl > end) std::abort();
    if (std::strtoull(req.data() + cl + 18, nullptr, 10) != n - end - 4 + t->fixed_body().size())
      std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) return 0;
  const std::string_view data(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  if (bytes[0] & 32) {
    fuzz_pipeline(data, 1 + bytes[1] % 200);
    return 0;
  }
  if (bytes[0] & 16) {
    fuzz_template(data);
    return 0;
  }
  if (bytes[0] & 8) {
    fuzz_targets(data);
    return 0;
  }
  if (bytes[0] & 4) {
    fuzz_url(data);
    return 0;
  }
  if (bytes[0] & 1) {
    (void)hit::stats::parse_duration(data);
    return 0;
  }
  fuzz_response(data, 1 + bytes[1] % 64, (bytes[0] & 2) != 0);
  return 0;
}

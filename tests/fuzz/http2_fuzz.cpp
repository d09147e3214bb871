// libFuzzer target for the client's HTTP/2 session (detail/http2_session): server bytes it
// never expected, fed in pieces as a connection feeds them, with requests submitted while
// streams are free. Checked: nothing crashes or leaks (ASan), streams stay within the limit,
// a response's status has three digits, and every request submitted is accounted for exactly
// once: an outcome (response, reset, refused), a timeout (cancel_expired), or handed back when
// the connection is given up (take_all).
// Build and run with scripts/fuzz (clang's -fsanitize=fuzzer,address,undefined).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "detail/http2_request.hpp"
#include "detail/http2_session.hpp"

namespace {

using hit::http::detail::clock;
using hit::http::detail::http2_request;
using hit::http::detail::http2_session;
using hit::http::detail::stream_outcome;

// The run's requests: a GET (target 0) and a POST whose body is beyond the default window, so
// that flow control is exercised (target 1).
const std::vector<hit::http::detail::prepared_request>& requests() {
  static const auto all = [] {
    hit::http::url u{"http", "127.0.0.1", "80", "/fuzz", "127.0.0.1"};
    std::vector<hit::http::detail::prepared_request> r(2);
    r[0].http2 = hit::http::detail::build_http2_request(u, {});
    hit::http::request_spec spec;
    spec.method = "POST";
    spec.body = std::string(70'000, 'b');
    r[1].http2 = hit::http::detail::build_http2_request(u, spec);
    hit::http::detail::http2_request* all[] = {&r[0].http2, &r[1].http2};
    hit::http::detail::number_http2_fields(all);
    return r;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const unsigned streams = 1 + data[0] % 8;
  const std::size_t step = 1 + data[1] % 64;
  const bool post = (data[2] & 1) != 0;
  data += 3;
  size -= 3;
  hit::stats::http2_counters counters;
  http2_session s(requests(), streams, 16, counters);
  s.start();
  std::uint64_t submitted = 0, ended = 0, cancelled = 0;
  const auto t0 = clock::now();
  auto submit = [&] {
    while (s.can_submit() && submitted < 64) {
      hit::http::detail::in_flight rec{
          .due = t0, .sent = t0 + std::chrono::seconds(submitted), .target = post ? 1u : 0u};
      if (!s.submit(rec)) break;
      ++submitted;
    }
    if (s.active() > streams || s.open_streams() > s.active()) std::abort();
  };
  auto drain = [&] {
    for (auto b = s.output(); b.size() > 0; b = s.output()) s.wrote(b.size());
    for (const auto& o : s.outcomes()) {
      if (o.what == stream_outcome::kind::response && (o.status < 100 || o.status > 999))
        std::abort();
      ++ended;
    }
    s.outcomes().clear();
  };
  submit();
  drain();
  bool broken = false;
  for (std::size_t pos = 0; pos < size && !broken; pos += step) {
    const std::size_t n = std::min(step, size - pos);
    auto in = s.read_buffer();
    std::memcpy(in.data(), data + pos, n);
    broken = !s.received(n, clock::now());
    drain();
    if (!broken) {
      // Now and then a stream times out (the oldest sent).
      if (data[pos] == 0xff) cancelled += s.cancel_expired(t0 + std::chrono::seconds(ended)).size();
      submit();
      drain();
    }
  }
  const auto left = s.take_all().size();
  if (submitted != ended + cancelled + left) std::abort();  // each request once
  s.stop();
  return 0;
}

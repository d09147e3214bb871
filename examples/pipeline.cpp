// The Go seed's pipeline, produce -> throttle -> dispatch -> collect, with a stand-in for the
// HTTP request: `hit -n 2000 -c 8 -rps 4000` against a function that takes ~100 µs and fails one
// time in 50. Ctrl-C is not wired here; pass a stop_token to every stage to cancel (see
// docs/flow.md), and collect() reports how many items were not processed.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <thread>

#include "hit/flow/collect.hpp"
#include "hit/flow/dispatch.hpp"
#include "hit/flow/produce.hpp"
#include "hit/flow/throttle.hpp"

using namespace std::chrono_literals;
namespace flow = hit::flow;
using clk = std::chrono::steady_clock;

namespace {

struct request {
  std::uint64_t id;
};

// The seed's Result: {status, bytes, duration, error}.
struct result {
  int status;
  std::uint64_t bytes;
  std::chrono::nanoseconds duration;
  bool error;
};

// The seed's summary.
struct summary {
  std::uint64_t requests = 0;
  std::uint64_t errors = 0;
  std::uint64_t bytes = 0;
  std::chrono::nanoseconds fastest = std::chrono::nanoseconds::max();
  std::chrono::nanoseconds slowest{0};
};

void merge(summary& s, result&& r) {
  ++s.requests;
  if (r.error) ++s.errors;
  s.bytes += r.bytes;
  s.fastest = std::min(s.fastest, r.duration);
  s.slowest = std::max(s.slowest, r.duration);
}

// Each dispatch worker gets its own copy, so `sent` needs no lock.
struct fake_send {
  std::uint64_t sent = 0;
  result operator()(request r) {
    const auto t0 = clk::now();
    std::this_thread::sleep_for(100us);
    ++sent;
    const bool failed = r.id % 50 == 0;
    return result{failed ? 503 : 200, failed ? 0u : 1024u, clk::now() - t0, failed};
  }
};

}  // namespace

int main() {
  const std::uint64_t n = 2000;
  const std::size_t concurrency = 8;
  const double rps = 4000;

  const auto start = clk::now();
  auto requests = flow::produce(n, [](std::uint64_t i) { return request{i}; });
  auto paced = flow::throttle(std::move(requests), rps);
  auto results = flow::dispatch(std::move(paced), concurrency, fake_send{});
  const auto c = flow::collect(std::move(results), summary{}, merge);
  const std::chrono::duration<double> took = clk::now() - start;

  const auto& s = c.value;
  std::printf("Summary:\n");
  std::printf("  Success     : %.0f%%\n", s.requests == 0
                                              ? 0.0
                                              : 100.0 * static_cast<double>(s.requests - s.errors) /
                                                    static_cast<double>(s.requests));
  std::printf("  RPS         : %.1f\n", static_cast<double>(s.requests) / took.count());
  std::printf("  Requests    : %llu\n", static_cast<unsigned long long>(s.requests));
  std::printf("  Errors      : %llu\n", static_cast<unsigned long long>(s.errors));
  std::printf("  Bytes       : %llu\n", static_cast<unsigned long long>(s.bytes));
  std::printf("  Duration    : %.3f s\n", took.count());
  std::printf("  Fastest     : %.1f us\n", static_cast<double>(s.fastest.count()) / 1e3);
  std::printf("  Slowest     : %.1f us\n", static_cast<double>(s.slowest.count()) / 1e3);
  std::printf("  Not processed: %llu\n", static_cast<unsigned long long>(c.not_processed));
  // At 4000/s, 2000 requests take about half a second; they must not go out early.
  const bool ok = s.requests == n && s.errors == n / 50 && took >= 450ms && !c.cancelled;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

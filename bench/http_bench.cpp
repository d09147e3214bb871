// Hot-path micro-benchmarks: response parsing, histogram and summary recording, and a whole
// request round trip through the engine against the embedded server, so that a regression
// shows here before the end-to-end comparison (bench/peers) does. Not part of CI's pass/fail.
//
//   build/release/bench/http_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>
#include <http_parser.h>

#include <random>
#include <string>
#include <thread>

#include "hit/http/load_test.hpp"
#include "hit/http/request.hpp"
#include "hit/http/response_parser.hpp"
#include "hit/http/server.hpp"
#include "hit/stats/summary.hpp"

namespace {

// What nginx sends for a 16-byte body.
const std::string small_response =
    "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 22 Nov 2026 21:00:00 GMT\r\n"
    "Content-Type: text/plain\r\nContent-Length: 16\r\nConnection: keep-alive\r\n\r\n"
    "xxxxxxxxxxxxxxxx";

std::string chunked_response() {
  std::string r = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 8; ++i) r += "200\r\n" + std::string(512, 'x') + "\r\n";
  return r + "0\r\n\r\n";
}

void parse_with_beast(benchmark::State& state, const std::string& wire) {
  hit::http::response_parser p;
  for (auto _ : state) {
    p.reset(false);
    std::size_t used = 0;
    auto st = p.feed(wire, used);
    benchmark::DoNotOptimize(st);
    benchmark::DoNotOptimize(p.status());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_parse_beast_small(benchmark::State& s) {
  parse_with_beast(s, small_response);
}
void BM_parse_beast_chunked(benchmark::State& s) {
  parse_with_beast(s, chunked_response());
}

// The alternative the issue named: Debian's libhttp-parser (nodejs/http-parser 2.9).
struct hp_counts {
  std::uint64_t body = 0;
  bool done = false;
};

void parse_with_http_parser(benchmark::State& state, const std::string& wire) {
  http_parser_settings settings{};
  settings.on_body = [](http_parser* p, const char*, std::size_t n) {
    static_cast<hp_counts*>(p->data)->body += n;
    return 0;
  };
  settings.on_message_complete = [](http_parser* p) {
    static_cast<hp_counts*>(p->data)->done = true;
    return 0;
  };
  http_parser p{};
  hp_counts counts;
  for (auto _ : state) {
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &counts;
    counts = {};
    auto used = http_parser_execute(&p, &settings, wire.data(), wire.size());
    benchmark::DoNotOptimize(used);
    const unsigned status = p.status_code;
    benchmark::DoNotOptimize(status);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_parse_http_parser_small(benchmark::State& s) {
  parse_with_http_parser(s, small_response);
}
void BM_parse_http_parser_chunked(benchmark::State& s) {
  parse_with_http_parser(s, chunked_response());
}

void BM_histogram_record(benchmark::State& state) {
  hit::stats::histogram h;
  std::mt19937_64 rng(1);
  std::vector<std::int64_t> values(4096);
  for (auto& v : values) v = static_cast<std::int64_t>(50'000 + rng() % 5'000'000);
  std::size_t i = 0;
  for (auto _ : state) {
    h.record(values[i++ & 4095]);
  }
  benchmark::DoNotOptimize(h.count());
  state.SetItemsProcessed(state.iterations());
}

void BM_summary_record_response(benchmark::State& state) {
  hit::stats::summary s;
  std::int64_t v = 100'000;
  for (auto _ : state) {
    s.record_response(200, 150, std::chrono::nanoseconds(v), std::chrono::nanoseconds(v - 10));
    benchmark::DoNotOptimize(&s);
    benchmark::ClobberMemory();
    v = (v * 7 + 13) % 10'000'000;
  }
  benchmark::DoNotOptimize(s.requests);
  state.SetItemsProcessed(state.iterations());
}

// A whole request through the engine against `hit serve` in this process, over loopback:
// mostly kernel time, but a regression in the engine's own path shows as a drop here.
void BM_engine_round_trip(benchmark::State& state) {
  auto listening = hit::http::server::listen(hit::http::server_config{});
  if (!listening) {
    state.SkipWithError(listening.error().c_str());
    return;
  }
  auto& srv = **listening;
  std::thread serving([&] { srv.run(); });
  const auto addr = srv.local_address();
  const auto url = hit::http::parse_url("http://" + addr + "/");
  const std::uint64_t n = 20'000;
  for (auto _ : state) {
    hit::http::load_config cfg;
    cfg.target = *url;
    cfg.requests = n;
    cfg.connections = static_cast<unsigned>(state.range(0));
    cfg.threads = 1;
    hit::http::load_test t(cfg);
    if (!t.resolve()) state.SkipWithError("resolve failed");
    t.start();
    const auto s = t.join();
    if (s.successes != n) state.SkipWithError("not every request succeeded");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<benchmark::IterationCount>(n));
  srv.stop();
  serving.join();
}

}  // namespace

BENCHMARK(BM_parse_beast_small);
BENCHMARK(BM_parse_http_parser_small);
BENCHMARK(BM_parse_beast_chunked);
BENCHMARK(BM_parse_http_parser_chunked);
BENCHMARK(BM_histogram_record);
BENCHMARK(BM_summary_record_response);
BENCHMARK(BM_engine_round_trip)->Arg(1)->Arg(16)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();

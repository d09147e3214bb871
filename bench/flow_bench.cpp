// flow micro-benchmarks: items per second through produce -> dispatch(c) -> collect with a no-op
// send, through elastic_pool with a no-op process, and the CPU an idle pool uses.
// Figures and how to reproduce them: docs/flow.md. Not part of CI pass/fail.

#include <benchmark/benchmark.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdint>
#include <thread>

#include "hit/flow/collect.hpp"
#include "hit/flow/dispatch.hpp"
#include "hit/flow/elastic_pool.hpp"
#include "hit/flow/produce.hpp"

namespace flow = hit::flow;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t items_per_run = 1'000'000;

void run_pipeline(benchmark::State& state, flow::stage_options opt, std::uint64_t n) {
  const auto concurrency = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    auto results = flow::dispatch(
        flow::produce(
            n, [](std::uint64_t i) { return i; }, {}, opt),
        concurrency, [](std::uint64_t i) { return i; }, {}, opt);
    const auto c = flow::collect(std::move(results), std::uint64_t{0},
                                 [](std::uint64_t& count, std::uint64_t) { ++count; });
    if (c.value != n) state.SkipWithError("lost items");
    benchmark::DoNotOptimize(c.value);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// The default stage options: buffered channels, batch transfer.
void BM_pipeline(benchmark::State& state) {
  run_pipeline(state, flow::stage_options{}, items_per_run);
}
BENCHMARK(BM_pipeline)->Arg(1)->Arg(4)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

// Go's shape: unbuffered channels, one item per hand-off. For comparison with the seed.
void BM_pipeline_unbuffered(benchmark::State& state) {
  // Thread hand-offs are far dearer than goroutine ones: 20k items keep the run short.
  run_pipeline(state, flow::stage_options{.capacity = 0, .batch = 1}, 20'000);
}
BENCHMARK(BM_pipeline_unbuffered)->Arg(4)->Unit(benchmark::kMillisecond)->UseRealTime();

struct noop_worker {
  using message_type = std::uint64_t;
  void before(std::stop_token) {}
  void process(std::uint64_t& m) { benchmark::DoNotOptimize(m); }
  void after() {}
};

// One producer submits 1e6 no-op messages, then close() drains them: the seed's experiment.
void BM_elastic_pool(benchmark::State& state) {
  const auto max_workers = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    flow::elastic_pool<noop_worker> pool({.max_workers = max_workers, .queue_capacity = 1024},
                                         [] { return noop_worker{}; });
    for (std::uint64_t i = 0; i < items_per_run; ++i) {
      if (pool.submit(std::uint64_t{i}) != flow::submit_status::ok) state.SkipWithError("submit");
    }
    const auto r = pool.close();
    if (r.processed != items_per_run) state.SkipWithError("lost messages");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items_per_run));
}
BENCHMARK(BM_elastic_pool)->Arg(2)->Arg(32)->Unit(benchmark::kMillisecond)->UseRealTime();

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// An idle pool with 8 live workers for 3 s: reports the CPU the whole process used, as a
// percentage of one core (the seed pegs both cores here).
void BM_elastic_pool_idle_cpu(benchmark::State& state) {
  for (auto _ : state) {
    flow::elastic_pool<noop_worker> pool({.min_workers = 8, .max_workers = 8, .idle_timeout = 10s},
                                         [] { return noop_worker{}; });
    for (std::uint64_t i = 0; i < 1000; ++i) (void)pool.submit(std::uint64_t{i});
    while (pool.metrics().processed < 1000) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(100ms);
    const double before = process_cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(3s);
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    state.counters["idle_cpu_pct_of_core"] = 100.0 * (process_cpu_seconds() - before) / wall;
    state.SetIterationTime(wall);
  }
}
BENCHMARK(BM_elastic_pool_idle_cpu)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);

}  // namespace

BENCHMARK_MAIN();

// results_hour: the memory and file size of an hour-long run's results, without waiting an
// hour. It feeds `loops` per-loop summaries (as the engine's loops record them: both
// histograms, the timeline, advance() per response) with `rate` responses per second for
// `seconds` of simulated time, latencies drawn from a log-normal around 300 us with a 1% tail
// to 50 ms (bucket counts per interval like those of a loopback run: ~600 at 40k req/s), then
// merges them as load_test::join does and writes the results file as hit --save does.
// Prints peak RSS, the file's size, the timeline's width after coarsening.
//
//   results_hour [rate=150000] [seconds=3600] [loops=2] [file=/tmp/results_hour.json]
//
// Everything the timeline adds to a run is here; the engine's own memory is flat in the run's
// length (docs/performance.md). Figures: docs/results.md.

#include <sys/resource.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "results_file.hpp"

int main(int argc, char** argv) {
  const double rate = argc > 1 ? std::stod(argv[1]) : 150000;
  const long seconds = argc > 2 ? std::stol(argv[2]) : 3600;
  const unsigned loops = argc > 3 ? static_cast<unsigned>(std::stoul(argv[3])) : 2;
  const std::string file = argc > 4 ? argv[4] : "/tmp/results_hour.json";

  // A pool of latencies, walked with a stride: drawing each one would dominate the run time.
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> body(std::log(300e3), 0.8);
  std::uniform_real_distribution<double> tail(1e6, 50e6);
  std::vector<std::int64_t> pool(1 << 20);
  for (std::size_t i = 0; i < pool.size(); ++i)
    pool[i] = static_cast<std::int64_t>(i % 100 == 0 ? tail(rng) : body(rng));

  std::vector<hit::stats::summary> parts(loops);
  for (auto& s : parts)
    s.timeline.enable(std::chrono::seconds(1), hit::stats::timeline::default_budget / loops);
  const auto per_loop = static_cast<std::uint64_t>(rate / loops);
  std::size_t k = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (long sec = 0; sec < seconds; ++sec) {
    for (auto& s : parts) {
      for (std::uint64_t i = 0; i < per_loop; ++i) {
        const auto at = std::chrono::nanoseconds(
            sec * 1'000'000'000 + static_cast<std::int64_t>(i * 1'000'000'000 / per_loop));
        s.advance(at);
        k = (k + 7919) & (pool.size() - 1);
        const auto latency = std::chrono::nanoseconds(pool[k]);
        s.record_response(200, 100, latency, latency);
      }
    }
  }
  for (auto& s : parts) {
    s.timeline.finish();
    s.elapsed = std::chrono::seconds(seconds);
  }
  hit::cli::run_record r;
  r.options.url_text = "http://127.0.0.1:8080/";
  r.options.request.method = "GET";
  r.summary = std::move(parts.front());
  for (std::size_t i = 1; i < parts.size(); ++i) r.summary.merge(parts[i]);
  parts.clear();
  r.start = std::chrono::system_clock::now();
  if (auto saved = hit::cli::save_results(r, file); !saved) {
    std::fprintf(stderr, "%s\n", saved.error().c_str());
    return 1;
  }
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto size = std::filesystem::file_size(file);
  std::printf(
      "rate %.0f/s, %ld s, %u loops: %llu responses in %.1f s\n"
      "peak RSS %.1f MiB, file %.1f MiB, %zu intervals of %s (coarsened %u times), %zu buckets "
      "kept\n",
      rate, seconds, loops, static_cast<unsigned long long>(r.summary.requests),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
      static_cast<double>(u.ru_maxrss) / 1024.0, static_cast<double>(size) / (1 << 20),
      r.summary.timeline.intervals().size(),
      std::to_string(r.summary.timeline.width().count() / 1'000'000).append(" ms").c_str(),
      r.summary.timeline.coarsened(), r.summary.timeline.buckets_kept());
  return 0;
}

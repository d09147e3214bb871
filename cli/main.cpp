// hit: the command. Parses options, plans the run, drives the engine from the main thread
// (signals, progress line), prints the report. No engine logic lives here.

#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "hit/http/load_test.hpp"
#include "hit/http/server.hpp"
#include "hit/stats/duration.hpp"
#include "options.hpp"
#include "report.hpp"

namespace {

using namespace hit;
using namespace std::chrono_literals;

// Blocks SIGINT and SIGTERM in this thread and every thread started after, so that the main
// thread alone takes them, synchronously, with sigtimedwait.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Waits up to `d` for SIGINT/SIGTERM; true when one arrived.
bool wait_signal(const sigset_t& set, std::chrono::nanoseconds d) {
  timespec ts{static_cast<time_t>(d.count() / 1'000'000'000),
              static_cast<long>(d.count() % 1'000'000'000)};
  return sigtimedwait(&set, nullptr, &ts) > 0;
}

// The most connections the hard descriptor limit allows.
unsigned fd_capacity() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_max == RLIM_INFINITY) return 1u << 20;
  return lim.rlim_max > 128 ? static_cast<unsigned>(std::min<rlim_t>(lim.rlim_max - 64, 1u << 20))
                            : 64;
}

// Each connection needs a descriptor; raise the soft limit when the hard limit allows.
bool ensure_fd_limit(unsigned connections, std::string& error) {
  const rlim_t needed = static_cast<rlim_t>(connections) + 64;
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= needed) return true;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed) {
    error = fmt::format(
        "-c {} needs about {} file descriptors but the limit is {}: raise it with 'ulimit -n {}'",
        connections, needed, lim.rlim_max, needed);
    return false;
  }
  lim.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    error = fmt::format("cannot raise the file-descriptor limit to {}: try 'ulimit -n {}'", needed,
                        needed);
    return false;
  }
  return true;
}

void show_progress(const http::progress& p, const cli::run_options& o) {
  const double secs = std::chrono::duration<double>(p.elapsed).count();
  const double rate = secs > 0 ? static_cast<double>(p.done) / secs : 0;
  std::string eta;
  if (o.schedule && o.schedule->total() && rate > 0 && p.done < *o.schedule->total()) {
    const double left =
        std::max(0.0, static_cast<double>(*o.schedule->total()) - static_cast<double>(p.done)) /
        rate;
    eta = fmt::format("  ETA {}", stats::format_duration_ns(left * 1e9));
  }
  if (o.requests > 0 && rate > 0 && p.done < o.requests) {
    const double left = static_cast<double>(o.requests - std::min(o.requests, p.done)) / rate;
    eta = fmt::format("  ETA {}", stats::format_duration_ns(left * 1e9));
  }
  if (o.duration.count() > 0) {
    const double left = std::max(0.0, std::chrono::duration<double>(o.duration).count() - secs);
    eta = fmt::format("  {} left", stats::format_duration_ns(left * 1e9));
  }
  std::fprintf(stderr, "\r\033[2K%s  %llu done  %.0f req/s  %llu errors%s",
               stats::format_duration_ns(secs * 1e9).c_str(),
               static_cast<unsigned long long>(p.done), rate,
               static_cast<unsigned long long>(p.errors), eta.c_str());
  std::fflush(stderr);
}

int run(cli::run_options o) {
  std::string err;
  // The default cap of the open model shrinks to what the descriptor limit allows; a cap the
  // user asked for is checked like -c.
  if (o.open_model && !o.max_workers_given) {
    o.max_workers = std::min(o.max_workers, fd_capacity());
    o.workers = std::min(o.workers, o.max_workers);
  }
  if (!ensure_fd_limit(o.open_model ? o.max_workers : o.concurrency, err)) {
    std::fprintf(stderr, "hit: %s\n", err.c_str());
    return cli::exit_failure;
  }
  http::load_config cfg;
  cfg.host = o.target.host;
  cfg.port = o.target.port;
  cfg.request = http::build_request(o.target, o.request);
  cfg.head = o.request.method == "HEAD";
  cfg.keepalive = o.request.keepalive;
  cfg.requests = o.requests;
  cfg.duration = o.duration;
  cfg.connections = o.concurrency;
  cfg.threads = o.threads;
  cfg.timeout = o.timeout;
  if (o.rps > 0) cfg.rate = flow::rate_schedule::constant(o.rps);
  if (o.open_model) {
    cfg.model = http::load_model::open;
    cfg.rate = o.schedule;
    cfg.min_connections = o.workers;
    cfg.max_connections = o.max_workers;
    cfg.idle_timeout = o.idle_timeout;
  }

  const sigset_t signals = block_stop_signals();
  http::load_test test(std::move(cfg));
  if (auto e = test.resolve()) {
    std::fprintf(stderr, "hit: %s\n", e->c_str());
    return cli::exit_failure;
  }
  const bool live = isatty(STDERR_FILENO) == 1;
  test.start();
  bool interrupted = false;
  while (!test.wait_for(0ns)) {
    if (wait_signal(signals, 200ms)) {
      if (interrupted) {
        std::fprintf(stderr, "\nhit: interrupted twice, exiting without a report\n");
        std::_Exit(cli::exit_interrupted);
      }
      interrupted = true;
      test.request_stop();
      std::fprintf(stderr,
                   "%shit: interrupted: finishing requests in flight (Ctrl-C again to quit)\n",
                   live ? "\r\033[2K" : "");
    }
    if (live) show_progress(test.current(), o);
  }
  if (live) std::fprintf(stderr, "\r\033[2K");
  const stats::summary s = test.join();

  const cli::run_context ctx{o, interrupted};
  if (o.output == cli::output_format::json) {
    std::cout << cli::json_report(s, ctx).dump(2) << "\n";
  } else {
    std::cout << cli::text_report(s, ctx);
  }
  std::cout.flush();
  if (interrupted) return cli::exit_interrupted;
  if (s.requests > 0 && s.error_count(stats::error_kind::refused) == s.requests) {
    std::fprintf(stderr, "hit: every connection to %s:%s was refused: is the server running?\n",
                 o.target.host.c_str(), o.target.port.c_str());
    return cli::exit_failure;
  }
  return cli::exit_ok;
}

int serve(const cli::serve_options& o) {
  const sigset_t signals = block_stop_signals();
  http::server_config cfg;
  cfg.address = o.address;
  cfg.port = o.port;
  cfg.threads = o.threads;
  cfg.body_size = o.body_size;
  cfg.pause_at = o.pause_at;
  cfg.pause_for = o.pause_for;
  auto listening = http::server::listen(cfg);
  if (!listening) {
    std::fprintf(stderr, "hit serve: %s\n", listening.error().c_str());
    return cli::exit_failure;
  }
  const std::unique_ptr<http::server> srv = std::move(*listening);
  std::printf("listening on http://%s/\n", srv->local_address().c_str());
  std::fflush(stdout);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    srv->stop();
  });
  srv->run();
  if (stopper.joinable()) {
    pthread_kill(stopper.native_handle(), SIGTERM);  // no-op if it already returned
    stopper.join();
  }
  return cli::exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
  const auto p = cli::parse_command_line(argc, argv);
  switch (p.what) {
    case cli::parsed::action::exit:
      std::fputs(p.message.c_str(), p.exit_code == cli::exit_ok ? stdout : stderr);
      return p.exit_code;
    case cli::parsed::action::serve:
      return serve(p.serve);
    case cli::parsed::action::run:
      try {
        return run(p.run);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hit: %s\n", e.what());
        return cli::exit_failure;
      }
  }
  return cli::exit_failure;
}

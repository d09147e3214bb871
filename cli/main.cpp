// hit: the command. Parses options, plans the run, drives the engine from the main thread
// (signals, progress line), prints the report. No engine logic lives here.

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <thread>

#include "hit/http/load_test.hpp"
#include "hit/http/server.hpp"
#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"
#include "html_model.hpp"
#include "html_report.hpp"
#include "options.hpp"
#include "report.hpp"
#include "report_command.hpp"
#include "results_file.hpp"
#include "timeline_view.hpp"

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

// Descriptors this process holds now (inherited ones included): /proc/self/fd, or a guess.
rlim_t descriptors_in_use() {
  std::error_code ec;
  rlim_t n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++n;
  return ec || n == 0 ? 64 : n;
}

// Descriptors a run needs besides its connections: those in use, and per event-loop thread an
// epoll, a timerfd and an eventfd, with a margin.
rlim_t descriptors_besides_connections(rlim_t in_use, unsigned threads) {
  return in_use + 3 * static_cast<rlim_t>(threads) + 16;
}

// The most connections the hard descriptor limit allows, beside what is in use.
unsigned fd_capacity(unsigned threads) {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_max == RLIM_INFINITY)
    return cli::max_connections;
  const rlim_t besides = descriptors_besides_connections(descriptors_in_use(), threads);
  return lim.rlim_max > besides + 1
             ? static_cast<unsigned>(std::min<rlim_t>(lim.rlim_max - besides, cli::max_connections))
             : 1;
}

// Each connection needs a descriptor; raise the soft limit when the hard limit allows.
// `option`: what asked for the connections, as the user typed it ("-c 500").
result<void> ensure_fd_limit(unsigned connections, unsigned threads, const std::string& option) {
  const rlim_t in_use = descriptors_in_use();
  const rlim_t needed = connections + descriptors_besides_connections(in_use, threads);
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= needed) return {};
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < needed)
    return failure{fmt::format(
        "{} needs about {} file descriptors ({} are in use already) but the limit is {}: raise "
        "it with 'ulimit -n {}'",
        option, needed, in_use, lim.rlim_max, needed)};
  lim.rlim_cur = needed;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0)
    return failure{
        fmt::format("cannot raise the file-descriptor limit to {} for {}: try "
                    "'ulimit -n {}'",
                    needed, option, needed)};
  return {};
}

// Writes the report to standard output, or to standard error when the results file takes
// standard output (--save -); fails when it cannot take it (a full disk, a closed descriptor).
result<void> write_report(const std::string& text, bool to_stderr) {
  std::ostream& out = to_stderr ? std::cerr : std::cout;
  out << text;
  out.flush();
  if (!out)
    return failure{std::string("cannot write the report to standard ") +
                   (to_stderr ? "error" : "output")};
  return {};
}

// Where the run connected: HOST:PORT of the URL, or of --connect-to; unix:PATH; the proxy.
std::string destination(const cli::run_options& o) {
  if (!o.unix_socket.empty()) return "unix:" + printable(o.unix_socket);
  if (!o.proxy_host.empty()) return "the proxy " + cli::host_port(o.proxy_host, o.proxy_port);
  return o.connect_host.empty() ? cli::host_port(o.target.host, o.target.port)
                                : cli::host_port(o.connect_host, o.connect_port);
}

// --start-at: waits for the common start, taking Ctrl-C meanwhile; false when interrupted.
bool wait_for_start(const cli::run_options& o, const sigset_t& signals) {
  if (!o.start_at) return true;
  const auto left = [&] { return *o.start_at - std::chrono::system_clock::now(); };
  if (left() > 1s && isatty(STDERR_FILENO) == 1)
    std::fprintf(
        stderr, "hit: waiting %s for --start-at\n",
        stats::format_duration_ns(static_cast<double>(std::chrono::nanoseconds(left()).count()))
            .c_str());
  for (auto l = left(); l > 0ns; l = left())
    if (wait_signal(signals, std::min<std::chrono::nanoseconds>(l, 200ms))) return false;
  return true;
}

void show_progress(const http::progress& p, const cli::run_options& o) {
  const double secs = std::chrono::duration<double>(p.elapsed).count();
  const double rate = secs > 0 ? static_cast<double>(p.done) / secs : 0;
  std::string eta;
  const auto scheduled = o.schedule && o.schedule->total()
                             ? std::optional(cli::share_of(*o.schedule->total(), o.shard))
                             : std::nullopt;
  if (scheduled && rate > 0 && p.done < *scheduled) {
    const double left =
        std::max(0.0, static_cast<double>(*scheduled) - static_cast<double>(p.done)) / rate;
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

// --save and --html: the run as a results file, and as an HTML page.
// The summary moves into the record and back: its timeline may be large, so it is not copied.
result<void> keep_results(stats::summary& s, const cli::run_options& o,
                          std::chrono::system_clock::time_point start,
                          std::optional<std::chrono::nanoseconds> start_late, bool interrupted,
                          bool stopped_by_threshold,
                          const std::vector<cli::threshold_result>& verdicts,
                          const std::vector<std::string>& target_names) {
  if (o.save_file.empty() && o.html_file.empty()) return {};
  cli::run_record r;
  r.options = o;
  r.summary = std::move(s);
  struct give_back {
    stats::summary& to;
    stats::summary& from;
    ~give_back() { to = std::move(from); }
  } back{s, r.summary};
  r.start = start;
  r.start_late = start_late;
  r.shards = cli::own_shards(o, start_late);
  r.interrupted = interrupted;
  r.stopped_by_threshold = stopped_by_threshold;
  r.scheduled_rate = cli::scheduled_rate(r.summary, {o, interrupted});
  r.label = "this run";
  r.target_names = target_names;
  if (!o.save_file.empty())
    if (auto saved = cli::save_results(r, o.save_file); !saved) return saved;
  if (!o.html_file.empty()) {
    std::ofstream out(o.html_file, std::ios::binary | std::ios::trunc);
    out << cli::html_report(cli::html_model({&r}, {cli::html_thresholds(verdicts)}));
    out.flush();
    if (!out) return failure{"cannot write the HTML report '" + printable(o.html_file) + "'"};
  }
  return {};
}

// The most requests the run can complete, for judging a threshold lost before the end: -n, or
// the count of a schedule that ends (--stages, a --rate ramp); nullopt when only time bounds
// it. (-z with -n may end before -n: fewer requests stay within the bounds already_lost uses.)
std::optional<std::uint64_t> most_requests(const cli::run_options& o) {
  if (o.requests > 0) return o.requests;
  if (o.open_model && o.schedule && o.schedule->total())
    return cli::share_of(*o.schedule->total(), o.shard);  // this shard's share
  return std::nullopt;
}

// --abort-on-threshold: the first threshold the run has already lost, if any.
std::optional<std::size_t> lost_threshold(const cli::run_options& o, const http::progress& p) {
  const auto total = most_requests(o);
  for (std::size_t i = 0; i < o.thresholds.size(); ++i)
    if (cli::already_lost(o.thresholds[i], p, total)) return i;
  return std::nullopt;
}

int run(cli::run_options o) {
  // Without a standard output the report would be lost after the whole run, or written into
  // whatever descriptor the run opens first as number 1.
  if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
    std::fprintf(stderr, "hit: standard output is closed: nowhere to write the report\n");
    return cli::exit_failure;
  }
  // The default cap of the open model shrinks to what the descriptor limit allows, and the
  // default floor with it; a cap or a floor the user asked for is checked like -c, never lowered.
  if (o.open_model && !o.max_workers_given) {
    o.max_workers = std::min(o.max_workers, fd_capacity(o.threads));
    if (o.workers_given) {
      o.max_workers = std::max(o.max_workers, o.workers);
    } else {
      o.workers = std::min(o.workers, o.max_workers);
    }
  }
  std::string asked = fmt::format("-c {}", o.concurrency);
  if (o.open_model && o.max_workers_given) {
    asked = fmt::format("--max-workers {}", o.max_workers);
  } else if (o.open_model && o.workers_given && o.workers == o.max_workers) {
    asked = fmt::format("--workers {}", o.workers);
  } else if (o.open_model) {
    asked = fmt::format("the open model ({} connections at most)", o.max_workers);
  }
  if (auto fds = ensure_fd_limit(o.open_model ? o.max_workers : o.concurrency, o.threads, asked);
      !fds) {
    std::fprintf(stderr, "hit: %s\n", fds.error().c_str());
    return cli::exit_failure;
  }
  http::load_config cfg;
  cfg.target = o.target;
  cfg.connect_host = o.connect_host;
  cfg.connect_port = o.connect_port;
  cfg.family = o.family;
  cfg.local_address = o.local_address;
  cfg.unix_socket = o.unix_socket;
  cfg.proxy_host = o.proxy_host;
  cfg.proxy_port = o.proxy_port;
  // --targets: their bodies move into the engine too; the report keeps their names.
  if (!o.seed_given) o.seed = std::random_device{}();
  for (auto& t : o.targets)
    cfg.targets.push_back(
        {t.url, {t.method, std::move(t.headers), std::move(t.body), o.request.keepalive}, t.name});
  std::vector<cli::target>().swap(o.targets);  // (the names the report needs are the engine's)
  cfg.order = o.order;
  cfg.templates = o.templates;
  cfg.first_request = o.first_request;
  cfg.seed = o.seed;
  // The body moves into the engine, held once; the report needs only the rest.
  cfg.request = std::move(o.request);
  o.request = {cfg.request.method, cfg.request.headers, {}, cfg.request.keepalive};
  cfg.keepalive = o.request.keepalive;
  cfg.tls = o.tls;
  cfg.http = o.http;
  cfg.streams = o.streams;
  cfg.pipeline = o.pipeline;
  cfg.window_bits = o.window_bits;
  cfg.requests = o.requests;
  cfg.duration = o.duration;
  cfg.connections = o.concurrency;
  cfg.threads = o.threads;
  cfg.timeout = o.timeout;
  cfg.shard_index = o.shard.index;
  cfg.shard_count = o.shard.count;
  if (o.rps > 0) cfg.rate = flow::rate_schedule::constant(o.rps);
  if (o.open_model) {
    cfg.model = http::load_model::open;
    cfg.rate = o.schedule;
    cfg.min_connections = o.workers;
    cfg.max_connections = o.max_workers;
    cfg.idle_timeout = o.idle_timeout;
  }
  if (o.keeps_timeline()) cfg.interval = o.interval;
  // Live intervals: NDJSON to --live, and lines on the terminal with --interval.
  const bool live_terminal = o.interval_given && isatty(STDERR_FILENO) == 1;
  cfg.live = !o.live_file.empty() || live_terminal;
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> live_file(nullptr, &std::fclose);
  if (!o.live_file.empty()) {
    live_file.reset(std::fopen(o.live_file.c_str(), "w"));
    if (!live_file) {
      std::fprintf(stderr, "hit: cannot write --live '%s'\n", printable(o.live_file).c_str());
      return cli::exit_usage;
    }
  }

  const sigset_t signals = block_stop_signals();
  http::load_test test(std::move(cfg));
  if (auto tls = test.prepare_tls(); !tls) {
    std::fprintf(stderr, "hit: %s\n", tls.error().c_str());
    return cli::exit_usage;
  }
  if (auto resolved = test.resolve(); !resolved) {
    std::fprintf(stderr, "hit: %s\n", resolved.error().c_str());
    return cli::exit_failure;
  }
  const bool live = isatty(STDERR_FILENO) == 1;
  const auto show_intervals = [&] {
    if (!cfg.live) return;
    const auto taken = test.take_live_intervals();
    for (const auto& r : taken.closed) {
      const auto v =
          cli::view_of(r, o.interval, taken.ended.value_or(std::chrono::nanoseconds::max()));
      if (live_file) {
        auto j = cli::interval_json(v);
        j["time_unix_s"] =
            std::chrono::duration<double>(test.started_at().time_since_epoch()).count() + v.t_s;
        std::fprintf(live_file.get(), "%s\n", j.dump().c_str());
        std::fflush(live_file.get());
      }
      if (live_terminal) std::fprintf(stderr, "%s%s\n", "\r\033[2K", cli::interval_line(v).c_str());
    }
  };
  if (!wait_for_start(o, signals)) {
    std::fprintf(stderr, "hit: interrupted before --start-at: nothing was sent\n");
    return cli::exit_interrupted;
  }
  test.start();
  std::optional<std::chrono::nanoseconds> start_late;
  if (o.start_at) {
    start_late = std::max(std::chrono::nanoseconds(0), test.started_at() - *o.start_at);
    if (*start_late > cli::late_start)
      std::fprintf(
          stderr, "hit: %sstarted %s after --start-at (clocks out of sync, or a slow start)\n",
          o.shard.sharded() ? fmt::format("shard {} of {} ", o.shard.index, o.shard.count).c_str()
                            : "",
          stats::format_duration_ns(static_cast<double>(start_late->count())).c_str());
  }
  const cli::shard_set shards = cli::own_shards(o, start_late);
  bool interrupted = false;
  std::optional<std::size_t> stopped_by;  // the threshold that stopped the run
  std::chrono::steady_clock::time_point first_signal;
  while (!test.wait_for(0ns)) {
    if (wait_signal(signals, 200ms)) {
      // `timeout -s INT` signals the child and then its process group: two signals within a
      // second are one interrupt, not a request to quit without a report.
      if (interrupted && std::chrono::steady_clock::now() - first_signal < 1s) continue;
      if (interrupted) {
        std::fprintf(stderr, "\nhit: interrupted twice, exiting without a report\n");
        std::_Exit(cli::exit_interrupted);
      }
      interrupted = true;
      first_signal = std::chrono::steady_clock::now();
      test.request_stop();
      std::fprintf(stderr,
                   "%shit: interrupted: finishing requests in flight (Ctrl-C again, a second "
                   "later, to quit)\n",
                   live ? "\r\033[2K" : "");
    }
    show_intervals();
    const http::progress now = test.current();
    if (o.abort_on_threshold && !interrupted && !stopped_by) {
      stopped_by = lost_threshold(o, now);
      if (stopped_by) {
        // Like Ctrl-C: no new requests, those in flight finish and are reported.
        test.request_stop();
        std::fprintf(stderr, "%shit: threshold '%s' failed: stopping (--abort-on-threshold)\n",
                     live ? "\r\033[2K" : "",
                     printable(o.thresholds[*stopped_by].expression).c_str());
      }
    }
    if (live) show_progress(now, o);
  }
  if (live) std::fprintf(stderr, "\r\033[2K");
  stats::summary s = test.join();
  show_intervals();  // the last ones

  auto verdicts = cli::evaluate(o.thresholds, s);
  if (stopped_by) verdicts[*stopped_by].stopped_run = true;
  const cli::run_context ctx{o,       interrupted,         stopped_by.has_value(), std::nullopt,
                             &shards, &test.target_names()};
  std::string report;
  if (o.output == cli::output_format::json) {
    nlohmann::json j = cli::json_report(s, ctx);
    if (!verdicts.empty()) j["thresholds"] = cli::thresholds_json(verdicts);
    // JSON strings must be UTF-8; anything else the report quotes (the URL as typed) is replaced
    // with U+FFFD rather than lost with the report.
    report = j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  } else {
    report = cli::text_report(s, ctx);
    if (!verdicts.empty()) report += "\n" + cli::threshold_table(verdicts);
  }
  const auto keep = [&] {
    return keep_results(s, o, test.started_at(), start_late, interrupted, stopped_by.has_value(),
                        verdicts, test.target_names());
  };
  // With --save - the results file is the run's output and the report goes to stderr: the file
  // first, so that a report stderr cannot take does not lose it.
  std::optional<result<void>> kept;
  if (o.save_to_stdout()) kept = keep();
  const auto written = write_report(report, o.save_to_stdout());
  if (!kept) kept = keep();
  for (const auto* r : std::array<const result<void>*, 2>{&written, &*kept})
    if (!*r) {
      std::fprintf(stderr, "hit: %s\n", r->error().c_str());
      return cli::exit_failure;
    }
  if (interrupted) return cli::exit_interrupted;
  // Every request failed in TLS (the handshake, or the server's refusal right after it): the
  // run could not be done; say why.
  if (s.requests > 0 && s.error_count(stats::error_kind::tls) == s.requests) {
    auto f = test.first_tls_failure();
    // -H 'Host: NAME' changes the header, not the name the certificate is checked against.
    if (o.host_header && o.tls.server_name.empty() &&
        f.reason.find("verify failed") != std::string::npos)
      f.hint = fmt::format(
          "a Host header (-H, or a target's) does not change the name the certificate is checked "
          "against: --host NAME "
          "does{}{}",
          f.hint.empty() ? "" : "; or ", f.hint);
    // (Through a proxy the handshake is with the server, inside the tunnel.)
    const auto with =
        o.proxy_host.empty()
            ? destination(o)
            : fmt::format("{} (through {})", cli::host_port(o.target.host, o.target.port),
                          destination(o));
    std::fprintf(stderr, "hit: TLS handshake with %s failed: %s%s%s%s\n", with.c_str(),
                 printable(f.reason).c_str(), f.hint.empty() ? "" : " (", f.hint.c_str(),
                 f.hint.empty() ? "" : ")");
    return cli::exit_failure;
  }
  // Every request failed because the proxy did not open its tunnel: say what it answered.
  if (s.requests > 0 && s.error_count(stats::error_kind::proxy) == s.requests) {
    std::fprintf(stderr, "hit: no tunnel through %s to %s: %s\n", destination(o).c_str(),
                 cli::host_port(o.target.host, o.target.port).c_str(),
                 printable(test.first_proxy_failure()).c_str());
    return cli::exit_failure;
  }
  // h2c with prior knowledge to a server that speaks only HTTP/1.1: it answers the preface with
  // a 400 or closes, and nghttp2 reads that as a broken connection.
  if (o.http == http::http_version::http2 && o.target.scheme == "http" && s.requests > 0 &&
      s.error_count(stats::error_kind::closed) + s.error_count(stats::error_kind::malformed) ==
          s.requests) {
    std::fprintf(stderr,
                 "hit: no HTTP/2 response from %s: --h2 on an http:// URL is h2c with prior "
                 "knowledge, which the server does not seem to speak\n",
                 destination(o).c_str());
    return cli::exit_failure;
  }
  if (s.requests > 0 && s.error_count(stats::error_kind::refused) == s.requests) {
    std::fprintf(stderr, "hit: every connection to %s was refused: is the %s running?\n",
                 destination(o).c_str(), o.proxy_host.empty() ? "server" : "proxy");
    return cli::exit_failure;
  }
  // After 1 (the run could not be done) and 130 (interrupted): those say more about the run
  // than a threshold judged on what little it did.
  if (!cli::all_pass(verdicts)) return cli::exit_thresholds;
  return cli::exit_ok;
}

int serve(const cli::serve_options& o) {
  const sigset_t signals = block_stop_signals();
  http::server_config cfg;
  cfg.address = o.address;
  cfg.port = o.port;
  cfg.unix_path = o.unix_path;
  cfg.threads = o.threads;
  cfg.body_size = o.body_size;
  cfg.pause_at = o.pause_at;
  cfg.pause_for = o.pause_for;
  cfg.tls = o.tls;
  cfg.max_streams = o.max_streams;
  cfg.goaway_after = o.goaway_after;
  // A file that cannot serve (missing, not PEM, a key that does not match) is bad input, found
  // before anything listens; a failed bind is a failure to run.
  auto made = http::server::make(cfg);
  if (!made) {
    std::fprintf(stderr, "hit serve: %s\n", made.error().c_str());
    return cli::exit_usage;
  }
  const std::unique_ptr<http::server> srv = std::move(*made);
  if (auto opened = srv->open(); !opened) {
    std::fprintf(stderr, "hit serve: %s\n", opened.error().c_str());
    return cli::exit_failure;
  }
  if (o.unix_path.empty()) {
    std::printf("listening on %s://%s/\n", o.tls.enabled ? "https" : "http",
                srv->local_address().c_str());
  } else {
    std::printf("listening on %s (%s)\n", printable(srv->local_address()).c_str(),
                o.tls.enabled ? "https" : "http");
  }
  if (o.tls.enabled) {
    const std::string source =
        o.tls.cert_file.empty()
            ? "self-signed certificate" +
                  (o.tls.write_cert_file.empty()
                       ? std::string()
                       : " (written to '" + printable(o.tls.write_cert_file) + "')")
            : "certificate from '" + printable(o.tls.cert_file) + "'";
    std::printf("tls: %s, SHA-256 fingerprint %s\n", source.c_str(),
                srv->certificate_fingerprint().c_str());
    if (!o.tls.client_ca_file.empty())
      std::printf("tls: client certificates required, issued by the CAs in '%s'\n",
                  printable(o.tls.client_ca_file).c_str());
  }
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
  auto p = cli::parse_command_line(argc, argv);
  switch (p.what) {
    case cli::parsed::action::exit:
      std::fputs(p.message.c_str(), p.exit_code == cli::exit_ok ? stdout : stderr);
      return p.exit_code;
    case cli::parsed::action::serve:
      return serve(p.serve);
    case cli::parsed::action::report:
      try {
        return cli::report_command(p.report);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hit report: %s\n", e.what());
        return cli::exit_failure;
      }
    case cli::parsed::action::run:
      try {
        return run(std::move(p.run));
      } catch (const std::exception& e) {
        std::fprintf(stderr, "hit: %s\n", e.what());
        return cli::exit_failure;
      }
  }
  return cli::exit_failure;
}

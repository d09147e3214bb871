#pragma once
// Command-line options of `hit` and `hit serve`: parsing and validation only. Every bad input
// becomes one line of text and exit code 2 here, before anything runs.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hit/flow/rate_schedule.hpp"
#include "hit/http/http_version.hpp"
#include "hit/http/load_test.hpp"
#include "hit/http/request.hpp"
#include "hit/http/server.hpp"
#include "hit/http/tls.hpp"
#include "hit/http/url.hpp"
#include "shard.hpp"
#include "targets.hpp"
#include "threshold.hpp"

namespace hit::cli {

// Exit codes, documented in --help and the README.
inline constexpr int exit_ok = 0;       // the run finished (HTTP error statuses included)
inline constexpr int exit_failure = 1;  // the run could not be done: DNS, every connect refused
inline constexpr int exit_usage = 2;    // bad options or input
// A --threshold failed (the run finished, or --abort-on-threshold stopped it). Exit codes 1 and
// 130 take precedence: a run that could not be done or was interrupted says that first.
inline constexpr int exit_thresholds = 3;
inline constexpr int exit_interrupted = 130;  // stopped by Ctrl-C / SIGTERM; partial report printed

// Bounds on what the options may ask for; beyond them the answer is exit 2, not a failed run.
inline constexpr unsigned max_connections = 1u << 20;  // -c, --workers, --max-workers
inline constexpr unsigned max_threads = 1024;          // --threads
inline constexpr unsigned max_streams = 1u << 16;      // --streams
inline constexpr unsigned max_pipeline = 1024;         // --pipeline

enum class output_format { text, json };

struct run_options {
  std::string url_text;
  http::url target;
  http::request_spec request;
  http::tls_options tls;  // https only
  // Transport (--connect-to, -4/-6, --local-address; --host is a Host header and tls.server_name).
  std::string connect_host, connect_port;  // empty: the URL's
  http::ip_family family = http::ip_family::any;
  std::string local_address;           // an IP literal; empty: the kernel picks
  std::string unix_socket;             // --unix-socket PATH; empty: TCP
  std::string proxy_host, proxy_port;  // -x/--proxy; empty: none
  // --targets FILE: the requests, each with -H's headers and its own (its own replace -H's of
  // the same name); `target` is then the first one's URL (the run's origin), `url_text` the
  // origin, and `request` holds -H's headers only. Empty: one request, `request` to `target`.
  std::vector<cli::target> targets;  // (moved into the engine when the run starts)
  std::size_t target_count = 0;      // how many targets.size() was: 0 without --targets
  std::string targets_file;
  http::target_order order = http::target_order::round_robin;  // --order
  std::uint64_t seed = 0;                                      // --seed (random order)
  bool seed_given = false;
  bool templates = false;  // --template: placeholders rendered per request
  // A Host header was given (-H, --host, or a target's own): the certificate is still checked
  // against the URL's host unless --host set tls.server_name.
  bool host_header = false;
  http::http_version http = http::http_version::http1_1;  // --h2, --http
  unsigned streams = 1;                                   // --streams (HTTP/2)
  unsigned window_bits = 30;                              // --window-bits (HTTP/2)
  unsigned pipeline = 1;                 // --pipeline: HTTP/1.1 requests in flight per connection
  std::uint64_t requests = 0;            // 0: no count limit (a duration is set)
  std::chrono::nanoseconds duration{0};  // 0: no time limit
  unsigned concurrency = 50;
  unsigned threads = 1;
  double rps = 0;  // closed model's rate limit; 0: as fast as possible
  // Open model (--rate / --stages): requests start on this schedule, on elastic connections.
  bool open_model = false;
  std::optional<flow::rate_schedule> schedule;
  std::string schedule_text;    // as the user gave it, for the report
  std::string schedule_option;  // "--rate" or "--stages"
  unsigned workers = 10;
  unsigned max_workers = 10000;
  bool max_workers_given = false;
  bool workers_given = false;
  std::chrono::nanoseconds idle_timeout{std::chrono::seconds(5)};
  std::chrono::nanoseconds timeout{std::chrono::seconds(20)};
  output_format output = output_format::text;
  // Results (docs/results.md): a results file, an HTML report, live intervals.
  std::string save_file;  // --save
  std::string html_file;  // --html
  std::string live_file;  // --live (NDJSON, one line per interval)
  std::chrono::nanoseconds interval{std::chrono::seconds(1)};  // --interval
  bool interval_given = false;
  // Whether the run keeps a timeline (what --save, --html and live intervals need).
  [[nodiscard]] bool keeps_timeline() const {
    return !save_file.empty() || !html_file.empty() || !live_file.empty() || interval_given;
  }
  std::vector<threshold> thresholds;  // --threshold, in the order given
  bool abort_on_threshold = false;    // --abort-on-threshold
  // Scale-out (docs/distributed.md): this process's shard. `requests`, `concurrency`, `workers`
  // and `max_workers` above are already its share; `rps` and `schedule` stay the whole run's
  // (the engine takes every shard.count-th request of them). File names have {shard} expanded.
  shard_id shard;
  // Unpaced -n: how many of the run's requests the shards before this one send (the number of
  // its first request, for the targets' round robin).
  std::uint64_t first_request = 0;
  std::optional<std::chrono::system_clock::time_point> start_at;  // --start-at
  // --save -: the results file goes to standard output, and the report to standard error.
  [[nodiscard]] bool save_to_stdout() const { return save_file == "-"; }
};

enum class report_format { text, json, csv, html };

// `hit report FILE...`: results files read back, merged or compared.
struct report_options {
  std::vector<std::string> files;
  report_format output = report_format::text;
  std::string out_file;               // --out; empty: standard output
  bool compare = false;               // --compare A B
  std::vector<threshold> thresholds;  // --threshold: judged on the merged results
  bool partial = false;               // --partial: merge the shards given, some missing
};

struct serve_options {
  std::string address = "127.0.0.1";
  std::string port = "0";
  std::string unix_path;  // --listen unix:PATH
  unsigned threads = 1;
  std::size_t body_size = 14;
  std::chrono::nanoseconds pause_at{0};
  std::chrono::nanoseconds pause_for{0};
  http::tls_settings tls;           // --tls, --cert, --key, --write-cert, --require-client-cert
  std::uint32_t max_streams = 100;  // --max-streams: HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS
  std::uint32_t goaway_after = 0;   // --goaway-after: HTTP/2 GOAWAY after N streams, 0 = never
};

struct parsed {
  enum class action { run, serve, report, exit } what = action::exit;
  run_options run;
  serve_options serve;
  report_options report;
  int exit_code = exit_ok;  // for action::exit
  std::string message;      // for action::exit: text for stdout (code 0) or stderr (otherwise)
};

// Whether the request has a header of this name (compared without case), given with -H.
inline bool has_header(const http::request_spec& r, std::string_view name) {
  return std::any_of(r.headers.begin(), r.headers.end(),
                     [&](const auto& h) { return http::iequals(h.first, name); });
}

// Parses argv. Never throws, never exits, prints nothing. Messages are one line, with what the
// user typed quoted and its control bytes escaped. `env` is where a run finds the shard
// identity an engine (MPI, Slurm, Kubernetes) gave it (see detect_shard).
parsed parse_command_line(int argc, const char* const* argv, const environment& env = ::getenv);

}  // namespace hit::cli

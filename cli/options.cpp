#include "options.hpp"

#include <unistd.h>
#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>
#include <tuple>

#include "hit/http/request_template.hpp"
#include "hit/http/server.hpp"
#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"
#include "hit/version.hpp"
#include "http_syntax.hpp"
#include "report.hpp"

namespace hit::cli {
namespace {

constexpr const char* report_footer = R"(
Examples:
  hit report run.json                             the run's report, read back
  hit report -o html --out report.html run.json   the HTML report (self-contained, offline)
  hit report a.json b.json c.json                 shards merged: counts add up, percentiles
                                                  from the merged histograms
  hit report a.json b.json --threshold 'p99<250ms'   judged on the merged results (exit 3)
  hit report --compare before.json after.json     side by side, with B - A and B / A
  hit report results/run-*.json                   the shards of a run (hit --shard, mpirun,
                                                  ...): each must be there, once
  hit report -o csv run.json                      the timeline: a row per interval

Exit codes: 0; 1 the report could not be written; 2 bad options, or a file missing, not a
results file, truncated, newer than this hit or inconsistent, or shards of a run missing
(without --partial), given twice or of different runs (one line names it); 3 a --threshold
failed. Format and merge rules: docs/results.md; shards: docs/distributed.md.
)";

constexpr const char* examples = R"(
Examples:
  hit http://127.0.0.1:8080/                      200 requests over 50 connections
  hit -n 100000 -c 100 http://127.0.0.1:8080/     a fixed number of requests
  hit -z 30s -c 20 http://127.0.0.1:8080/api      for a duration
  hit -n 1000 --rps 200 http://127.0.0.1:8080/    at most 200 requests per second in all
  hit --rate 500 -z 30s http://127.0.0.1:8080/    open model: 500 new requests per second
  hit --rate 100:2000 -z 1m http://127.0.0.1:8080/          ramp the rate over the duration
  hit --stages 30s:100,1m:500,30s:0 http://127.0.0.1:8080/  k6-style stages
  hit -m POST -H 'Content-Type: application/json' -d '{"a":1}' http://127.0.0.1:8080/
  hit -o json -n 1000 http://127.0.0.1:8080/ | jq .latency_s.p99
  hit -z 30s --threshold 'p99<250ms' --threshold 'errors<0.1%' http://127.0.0.1:8080/
  hit -n 10000 https://example.test/              HTTPS, verified against the system store
  hit -k https://127.0.0.1:8443/                  HTTPS without verification
  hit --cacert ca.pem --cert me.pem --key me.key https://127.0.0.1:8443/   mutual TLS
  hit -z 1m --save run.json --html run.html URL   keep the results; a page with charts
  hit report run.json                             the report again, from the file
  mpirun -np 4 hit --rate 8000 -z 1m --start-at 1795514400 --save 'run-{shard}.json' URL
                                                  4 shards of one run (or --shard I/N, srun,
                                                  a Kubernetes Indexed Job); docs/distributed.md
  hit report run-*.json                           the shards merged: the whole run
  hit --connect-to 10.0.0.5:443 https://api.example.test/   that address, that name
  hit --unix-socket /run/app.sock http://localhost/          a Unix-domain socket
  hit -x http://127.0.0.1:3128 https://api.example.test/    through a proxy (CONNECT)
  hit --targets targets.txt -z 30s                many URLs of one origin (vegeta's format)
  hit --template 'http://127.0.0.1:8080/item/{{rand 1 500}}'   a request that varies
  hit serve --listen 127.0.0.1:8080               the embedded test server

Exit codes:
  0    the run finished (HTTP error statuses are results, not failures)
  1    the run could not be done (host not found, every connection refused, every
       request failed in TLS, ...),
       or the report could not be written
  2    bad options or input
  3    a --threshold failed (1 and 130 take precedence)
  130  interrupted (Ctrl-C or SIGTERM): the report covers what was done

Thresholds (--threshold, repeatable; exit 3 when one fails):
  p99<250ms  p99.9<=1s  mean<50ms  max<2s     latency from each request's intended start
  errors<0.1%  errors==0  errors.timeout<10   % of requests, or a count
  success>=99.9%                              2xx/3xx responses, % of requests
  rps>=1000                                   completed requests per second
  status_5xx==0  status_404<1%                a status class or one status
  Operators: < <= > >= == !=. With --abort-on-threshold the run stops as soon as a threshold
  on errors, success or a status class can no longer pass.
)";

constexpr const char* serve_footer = R"(
Per-request knobs in the query string:
  delay=100ms   wait before responding (bare number: milliseconds)
  status=503    respond with this status
  size=16384    body of this many bytes
  chunked=1     send the body with Transfer-Encoding: chunked
  close=1       close the connection after the response
  reset=1       reset the connection (RST) instead of responding
  drop=1        respond as if keeping the connection alive, then close it
  halfclose=1   the same, closing with a FIN and reading on for up to 5 s
  garbage=1     answer with bytes that are not HTTP, then close
  hangup=1      close without sending a byte
  early=1       answer as soon as the header is in, without reading the body
                (status= or 413, Connection: close): a server rejecting an upload;
  hold=3s       ...and then keeps the socket open, unread, this long before closing
  extra=1       send a second, unsolicited response with the real one
  upgrade=1     answer 101 Switching Protocols, then never speak HTTP again
  refuse=1      HTTP/2: RST_STREAM REFUSED_STREAM instead of a response

HTTP/2: h2c with prior knowledge on any port (the client preface as the first bytes), and h2
over --tls when the client offers it in ALPN. Per stream: delay= holds only its stream;
status=, size=, HEAD as above, content-length except with chunked=1, which sends the body
in two DATA frames; reset=1 is RST_STREAM INTERNAL_ERROR; close=1 completes the response,
then sends GOAWAY naming that stream as the last. drop, halfclose, garbage, hangup, early,
hold, extra and upgrade are HTTP/1.1 knobs, ignored on HTTP/2. --max-streams is the
SETTINGS_MAX_CONCURRENT_STREAMS advertised; --goaway-after N ends each connection with a
GOAWAY after its Nth stream, as if that stream asked close=1.

HTTPS (--tls): TLS 1.2 and 1.3, ALPN h2 then http/1.1, session tickets. Without --cert and
--key the server makes a self-signed certificate for localhost, 127.0.0.1 and ::1 at startup
and prints its SHA-256 fingerprint; --write-cert FILE saves it for a client (curl --cacert
FILE). Over TLS, close=1 (and early=1, garbage=1) end with close_notify; drop=1, halfclose=1
and hangup=1 close the TCP connection without it, as an idle keep-alive timeout does; reset=1
sends RST.

Prints 'listening on http://ADDRESS/' (https:// with --tls; 'listening on unix:PATH (http)'
with --listen unix:PATH, whose socket file it removes when it stops) once bound, and with --tls
a 'tls:' line with the certificate's fingerprint; stops on Ctrl-C or SIGTERM.
)";

struct error_exit {
  std::string message;
};
[[noreturn]] void bad(std::string message) {
  throw error_exit{std::move(message)};
}

// The text as the user typed it, quoted and safe to print on one line.
std::string echo(std::string_view text) {
  return "'" + printable(text) + "'";
}

// A whole number in decimal (no sign, no 0x, no octal: "010" is ten), from `least` up to the
// most `T` holds or `most`.
template <class T>
T whole_number(const std::string& text, const std::string& option, T least = 1,
               T most = std::numeric_limits<T>::max()) {
  T value{};
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value, 10);
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) bad(option + " wants a whole number, got " + echo(text));
  if (ec == std::errc::result_out_of_range || value > most)
    bad(option + " " + echo(text) + " is too large: at most " + std::to_string(most));
  if (ec != std::errc{} || ptr != end) bad(option + " wants a whole number, got " + echo(text));
  if (value < least)
    bad(option + " must be at least " + std::to_string(least) + ", got " + echo(text));
  return value;
}

std::chrono::nanoseconds duration_arg(const std::string& text, const std::string& option) {
  auto d = stats::parse_duration(text);
  if (!d) bad(option + ": " + d.error());
  return *d;
}

std::pair<std::string, std::string> header_arg(const std::string& h) {
  const auto colon = h.find(':');
  if (colon == std::string::npos) bad("header " + echo(h) + " has no colon: use -H 'Name: value'");
  auto trim = [](std::string_view s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    return b == std::string_view::npos ? std::string() : std::string(s.substr(b, e - b + 1));
  };
  // No space may stand between the name and the colon (RFC 9112 5.1).
  const std::string name = h.substr(0, colon);
  if (!is_token(name))
    bad("header " + echo(h) + " has a bad name: letters, digits and !#$%&'*+-.^_`|~ only");
  const std::string value = trim(std::string_view(h).substr(colon + 1));
  if (!is_field_value(value))
    bad("header " + echo(h) + " has a control character (CR, LF, NUL...) in its value");
  if (is_framing_header(name))
    bad("header " + echo(h) + ": hit frames the body itself (Content-Length from -d/-D)");
  return {name, value};
}

// Rates are decimal numbers (no hex, no inf/nan), from 0 to the most a machine can schedule:
// hit sends about 10^5 requests per second per core, so 10^7 is far beyond any real run and
// still small enough that counting due requests never overflows.
constexpr double max_rate = 1e7;

double rate_arg(const std::string& text, const std::string& where) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, v, std::chars_format::general);
  if (text.empty() || ec != std::errc{} || ptr != end || !std::isfinite(v) || v < 0)
    bad("bad rate " + echo(text) + " in " + where + ": use requests per second, e.g. 500 or 0.5");
  if (v > max_rate)
    bad("rate " + echo(text) + " in " + where +
        " is more than hit can schedule: at most 10000000 requests per second");
  return v;
}

// "30s:100,1m:500,30s:0": ramp to 100/s over 30 s, to 500/s over 1 min, to 0 over 30 s.
flow::rate_schedule stages_arg(const std::string& text) {
  std::vector<std::pair<std::chrono::nanoseconds, double>> stages;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const auto comma = text.find(',', pos);
    const std::string stage =
        text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    const auto colon = stage.find(':');
    if (colon == std::string::npos)
      bad("bad stage " + echo(stage) + " in --stages: use DURATION:RATE, e.g. 30s:100");
    const auto d = stats::parse_duration(stage.substr(0, colon));
    if (!d || d->count() <= 0)
      bad("bad duration in stage " + echo(stage) + " of --stages: use e.g. 30s, 1m");
    stages.emplace_back(*d, rate_arg(stage.substr(colon + 1), "--stages"));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  bool any = false;
  for (const auto& st : stages) any = any || st.second > 0;
  if (!any) bad("--stages never rises above 0 requests per second");
  return flow::rate_schedule::stages(0, stages);
}

std::string read_body_file(const std::string& path) {
  if (path.empty()) bad("-D/--body-file wants a file name, got ''");
  std::error_code fe;
  if (!std::filesystem::is_regular_file(path, fe))
    bad("cannot read body file " + echo(path) + ": not a readable file");
  const auto size = std::filesystem::file_size(path, fe);
  std::ifstream in(path, std::ios::binary);
  if (fe || !in) bad("cannot read body file " + echo(path));
  // Read straight into the one string that will hold the body for the whole run.
  std::string body;
  try {
    body.resize(static_cast<std::size_t>(size));
  } catch (const std::exception&) {  // bad_alloc, length_error
    bad("body file " + echo(path) + " (" + std::to_string(size) +
        " bytes) is too large to hold in memory");
  }
  in.read(body.data(), static_cast<std::streamsize>(size));
  if (static_cast<std::uintmax_t>(in.gcount()) != size || in.peek() != EOF)
    bad("cannot read body file " + echo(path) + ": it changed while being read");
  return body;
}

std::pair<std::string, std::string> split_listen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) bad("--listen wants HOST:PORT, got " + echo(s));
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  const std::string port = s.substr(colon + 1);
  unsigned long p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p > 65535)
    bad("--listen wants HOST:PORT with a port from 0 to 65535, got " + echo(s));
  boost::system::error_code bad_address;
  boost::asio::ip::make_address(host, bad_address);
  if (bad_address) bad("--listen wants an IP address (e.g. 127.0.0.1 or [::1]), got " + echo(host));
  return {host, std::to_string(p)};
}

// ---- The command line as typed: every value a string, validated below ----------------------

struct run_args {
  std::string url;
  std::string requests, concurrency = "50", threads, rps = "0";
  std::string duration, timeout = "20s", method = "GET", body, body_file, output = "text";
  std::vector<std::string> headers;
  std::vector<std::string> thresholds;
  bool abort_on_threshold = false;
  std::string targets, targets_format = "auto", order = "round-robin", seed;
  bool templates = false;
  CLI::Option *targets_opt, *order_opt, *seed_opt, *targets_format_opt, *method_opt, *body_opt;
  bool no_keepalive = false;
  bool h2 = false;
  std::string http, streams = "1", window_bits = "30", pipeline = "1";
  std::string rate, stages, workers = "10", max_workers = "10000", idle_timeout = "5s";
  bool insecure = false, no_tls_resume = false;
  std::string cacert, cert, key, tls_min = "1.2", ciphers, tls13_ciphers;
  std::string save, html, live, interval = "1s";
  std::string shard, shards, start_at;
  std::string connect_to, host, local_address, unix_socket, proxy;
  bool ipv4 = false, ipv6 = false;
  std::vector<CLI::Option*> tls_opts;  // those that need an https URL
  // Which were given.
  CLI::Option *requests_opt, *concurrency_opt, *rps_opt, *duration_opt, *body_file_opt;
  CLI::Option *rate_opt, *stages_opt, *workers_opt, *max_workers_opt, *idle_opt;
  CLI::Option *http_opt, *streams_opt, *window_opt, *pipeline_opt;
  CLI::Option *interval_opt, *shard_opt, *shards_opt, *start_at_opt;
  CLI::Option *connect_to_opt, *host_opt, *local_address_opt, *unix_socket_opt, *proxy_opt;
};

struct report_args {
  std::vector<std::string> files, thresholds;
  std::string output = "text", out;
  bool compare = false, partial = false;
};

struct serve_args {
  std::string listen = "127.0.0.1:0", threads = "1", body_size = "14", pause_at, pause_for;
  std::string max_streams = "100", goaway_after = "0";
  bool tls = false;
  std::string cert, key, write_cert, client_ca;
  CLI::Option *cert_opt, *key_opt, *write_cert_opt, *client_ca_opt;
};

void declare_run(CLI::App& app, run_args& a) {
  a.threads = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
  app.add_option("url", a.url, "Target URL (http[s]://host[:port]/path)");
  a.requests_opt = app.add_option("-n,--requests", a.requests,
                                  "Requests to send [default: 200, or no limit with -z]")
                       ->type_name("N");
  a.concurrency_opt =
      app.add_option("-c,--concurrency", a.concurrency, "Connections working at once")
          ->type_name("N")
          ->capture_default_str();
  a.rps_opt = app.add_option("--rps", a.rps, "Global rate limit in requests per second, 0 = none")
                  ->type_name("R")
                  ->capture_default_str();
  a.duration_opt =
      app.add_option("-z,--duration", a.duration,
                     "Send for this long (e.g. 30s, 2m); with -n, stop at whichever comes first");
  app.add_option("-t,--timeout", a.timeout, "Timeout per request (and per connect), at least 1ms")
      ->capture_default_str();
  a.method_opt = app.add_option("-m,--method", a.method, "HTTP method")->capture_default_str();
  app.add_option("-H,--header", a.headers, "Add a header, 'Name: value' (repeatable)")
      ->allow_extra_args(false);
  a.body_opt = app.add_option("-d,--body", a.body, "Request body");
  app.add_flag("--template", a.templates,
               "Render {{seq}}, {{rand LO HI}}, {{uuid}}, {{line FILE}}, {{time_ms}} per request "
               "in the URL's path and query, header values and the body (HTTP/1.1)");
  a.targets_opt = app.add_option("--targets", a.targets,
                                 "Send the requests of this file (vegeta's format, or JSON lines; "
                                 "- for stdin) instead of one URL; -H adds to each")
                      ->type_name("FILE");
  a.targets_format_opt =
      app.add_option("--targets-format", a.targets_format,
                     "http (vegeta's), json (one object per line), or auto: json when the first "
                     "line starts with {")
          ->capture_default_str();
  a.order_opt =
      app.add_option("--order", a.order, "Which target each request goes to: round-robin or random")
          ->capture_default_str();
  a.seed_opt = app.add_option("--seed", a.seed,
                              "Seed of --order random: the same seed, the same order (for the "
                              "same --threads and shards) [default: from the clock]")
                   ->type_name("N");
  a.body_file_opt = app.add_option("-D,--body-file", a.body_file, "Request body from a file");
  app.add_flag("--no-keepalive", a.no_keepalive, "Open a new connection for every request");
  app.add_flag("--h2,--http2", a.h2,
               "HTTP/2: over TLS by ALPN, on http:// with prior knowledge (h2c); --http 2");
  a.http_opt = app.add_option("--http", a.http,
                              "HTTP version: 1.1, 2, or auto (https: offer both, speak what the "
                              "server picks) [default: 1.1]");
  a.streams_opt = app.add_option("--streams", a.streams,
                                 "HTTP/2: most streams in flight per connection (the server's "
                                 "limit caps it); concurrency is -c x --streams")
                      ->capture_default_str();
  a.pipeline_opt = app.add_option("--pipeline", a.pipeline,
                                  "HTTP/1.1: most requests in flight per connection, sent without "
                                  "waiting for the answers before them; concurrency is -c x N")
                       ->capture_default_str();
  a.window_opt = app.add_option("--window-bits", a.window_bits,
                                "HTTP/2: receive windows of 2^N-1 bytes, 16 to 30")
                     ->capture_default_str();
  app.add_option("-o,--output", a.output, "Report format: text or json")->capture_default_str();
  app.add_option("--threads", a.threads, "Event-loop threads [default: number of cores]")
      ->type_name("N");
  app.add_option("--threshold", a.thresholds,
                 "Pass/fail rule on the results, e.g. 'p99<250ms', 'errors<0.1%' (repeatable; "
                 "exit 3 when one fails)")
      ->allow_extra_args(false);
  app.add_flag("--abort-on-threshold", a.abort_on_threshold,
               "Stop the run once a threshold on errors, success or a status class is lost");

  a.rate_opt = app.add_option(
      "--rate", a.rate,
      "Open model: start R requests per second whatever the server does; R1:R2 ramps over -z");
  a.stages_opt = app.add_option(
      "--stages", a.stages, "Open model: k6-style rate stages from 0, e.g. 30s:100,1m:500,30s:0");
  a.workers_opt =
      app.add_option("--workers", a.workers,
                     "Open model: connections opened at the start and kept [default: 10, at "
                     "most --max-workers]")
          ->type_name("N");
  a.max_workers_opt =
      app.add_option("--max-workers", a.max_workers,
                     "Open model: most connections; beyond, due requests wait (counted late)")
          ->type_name("N")
          ->capture_default_str();
  a.idle_opt = app.add_option("--idle-timeout", a.idle_timeout,
                              "Open model: retire connections idle this long")
                   ->capture_default_str();

  app.add_flag("-k,--insecure", a.insecure,
               "https: do not verify the server's certificate or host name");
  a.tls_opts = {
      app.add_option("--cacert", a.cacert,
                     "https: also trust certificates issued by this CA (PEM file)"),
      app.add_option("--cert", a.cert, "https: client certificate chain for mutual TLS (PEM)"),
      app.add_option("--key", a.key, "https: the client certificate's private key (PEM)"),
      app.add_option("--tls-min", a.tls_min, "https: lowest TLS version, 1.2 or 1.3")
          ->capture_default_str(),
      app.add_option("--ciphers", a.ciphers, "https: TLS 1.2 cipher list (OpenSSL syntax)"),
      app.add_option("--tls13-ciphers", a.tls13_ciphers,
                     "https: TLS 1.3 cipher suites (OpenSSL syntax)"),
      app.add_flag("--no-tls-resume", a.no_tls_resume,
                   "https: never resume TLS sessions: every connect is a full handshake")};
  for (const auto& [name, type] : {std::pair{"url", "URL"},   {"--duration", "DURATION"},
                                   {"--timeout", "DURATION"}, {"--idle-timeout", "DURATION"},
                                   {"--method", "METHOD"},    {"--header", "HEADER"},
                                   {"--body", "BODY"},        {"--body-file", "FILE"},
                                   {"--cacert", "FILE"},      {"--cert", "FILE"},
                                   {"--key", "FILE"},         {"--tls-min", "VERSION"},
                                   {"--ciphers", "LIST"},     {"--tls13-ciphers", "LIST"},
                                   {"--output", "FORMAT"},    {"--http", "VERSION"},
                                   {"--streams", "N"},        {"--window-bits", "N"},
                                   {"--pipeline", "N"},       {"--rate", "RATE"},
                                   {"--stages", "STAGES"},    {"--threshold", "EXPR"}})
    app.get_option(name)->type_name(type);
}

void declare_results(CLI::App& app, run_args& a) {
  app.add_option("--save", a.save, "Write the run's results file (read by hit report)");
  app.add_option("--html", a.html, "Write the run's HTML report (self-contained, offline)");
  a.interval_opt = app.add_option("--interval", a.interval,
                                  "Timeline interval (results file, HTML, live lines) [default: "
                                  "1s]; alone: live lines on the terminal");
  app.add_option("--live", a.live, "Write one JSON line per interval to this file while running");
  for (const auto& [name, type] : std::initializer_list<std::pair<const char*, const char*>>{
           {"--save", "FILE"}, {"--html", "FILE"}, {"--interval", "DURATION"}, {"--live", "FILE"}})
    app.get_option(name)->type_name(type);
}

void declare_transport(CLI::App& app, run_args& a) {
  a.connect_to_opt =
      app.add_option("--connect-to", a.connect_to,
                     "Connect to this address instead of the URL's host and port; the URL still "
                     "gives the Host header and the TLS name")
          ->type_name("HOST:PORT");
  a.host_opt = app.add_option("--host", a.host,
                              "The Host header (HTTP/2 :authority) and the TLS name (SNI, and the "
                              "certificate's) instead of the URL's")
                   ->type_name("NAME[:PORT]");
  app.add_flag("-4", a.ipv4, "Connect to IPv4 addresses only");
  app.add_flag("-6", a.ipv6, "Connect to IPv6 addresses only");
  a.local_address_opt =
      app.add_option("--local-address", a.local_address, "Connect from this IP address")
          ->type_name("IP");
  a.unix_socket_opt = app.add_option("--unix-socket", a.unix_socket,
                                     "Connect to this Unix-domain socket; the URL still gives the "
                                     "Host header (and over https the TLS name)")
                          ->type_name("PATH");
  a.proxy_opt = app.add_option("-x,--proxy", a.proxy,
                               "Through this HTTP proxy: CONNECT tunnels for https, absolute-form "
                               "requests for http (the proxy resolves the URL's host)")
                    ->type_name("http://HOST:PORT");
}

void declare_scale_out(CLI::App& app, run_args& a) {
  a.shard_opt = app.add_option("--shard", a.shard,
                               "Run shard I of N (from 0) of the run: its share of -n, -c and the "
                               "schedule [default: from mpirun, srun or a Kubernetes Indexed Job]")
                    ->type_name("I/N");
  a.shards_opt = app.add_option("--shards", a.shards,
                                "The shard count when JOB_COMPLETION_INDEX gives the index "
                                "(Kubernetes) [default: $HIT_SHARDS]")
                     ->type_name("N");
  a.start_at_opt = app.add_option("--start-at", a.start_at,
                                  "Wait until this time, then start (RFC 3339 or Unix seconds): "
                                  "a common start for shards")
                       ->type_name("TIME");
}

void declare_report(CLI::App& report, report_args& a) {
  report.add_option("files", a.files, "Results files (hit --save); several are merged")
      ->type_name("FILE...");
  report.add_option("-o,--output", a.output, "Report format: text, json, csv or html")
      ->capture_default_str()
      ->type_name("FORMAT");
  report.add_option("--out", a.out, "Write the report to this file instead of standard output")
      ->type_name("FILE");
  report.add_flag("--compare", a.compare, "Two files, A B: side by side, with the differences");
  report.add_flag("--partial", a.partial,
                  "Merge the shards given although some are missing (named in the report)");
  report
      .add_option("--threshold", a.thresholds,
                  "Judge the (merged) results, e.g. 'p99<250ms' (repeatable; exit 3 if one fails)")
      ->allow_extra_args(false)
      ->type_name("EXPR");
}

// A file the run will write at its end: refused now, before any traffic, when it cannot be.
void check_writable(const std::string& path, const std::string& option) {
  if (path.empty()) bad(option + " wants a file name");
  const std::filesystem::path p(path);
  std::error_code ec;
  if (std::filesystem::is_directory(p, ec)) bad(option + " " + echo(path) + " is a directory");
  const auto dir = p.has_parent_path() ? p.parent_path() : std::filesystem::path(".");
  if (!std::filesystem::is_directory(dir, ec))
    bad(option + " " + echo(path) + ": no directory " + echo(dir.string()));
  if (::access(std::filesystem::exists(p, ec) ? path.c_str() : dir.c_str(), W_OK) != 0)
    bad(option + " " + echo(path) + ": not writable");
}

void validate_results(const run_args& a, run_options& r) {
  if (!a.save.empty() || a.interval_opt->count() > 0 || !a.html.empty() || !a.live.empty()) {
    r.interval = duration_arg(a.interval, "--interval");
    if (r.interval < std::chrono::milliseconds(10) || r.interval > std::chrono::hours(1))
      bad("--interval wants a duration from 10ms to 1h, got " + echo(a.interval));
  }
  r.interval_given = a.interval_opt->count() > 0;
  for (const auto& [given, option, file] :
       {std::tuple{&a.save, "--save", &r.save_file}, std::tuple{&a.html, "--html", &r.html_file},
        std::tuple{&a.live, "--live", &r.live_file}}) {
    if (given->empty()) continue;
    if (*given == "-" && std::string_view(option) == "--save") {
      *file = "-";  // standard output
      continue;
    }
    // Shards on one machine, or on a shared volume, would overwrite each other's file.
    if (r.shard.sharded() && given->find("{shard}") == std::string::npos) {
      const std::string_view o(option);
      bad(std::string(option) + " " + echo(*given) + " would be written by each of the " +
          std::to_string(r.shard.count) + " shards: put {shard} in it (e.g. '" +
          (o == "--save"   ? "run-{shard}.json', or --save - for standard output)"
           : o == "--html" ? "report-{shard}.html')"
                           : "live-{shard}.ndjson')"));
    }
    *file = expand_shard(*given, r.shard);
    check_writable(*file, option);
  }
}

// "HOST:PORT" or "[V6]:PORT" (the port optional unless `port_required`), checked as a URL's
// authority is: its host and port.
std::pair<std::string, std::string> host_port_arg(const std::string& text,
                                                  const std::string& option, bool port_required) {
  const bool has_port =
      !text.empty() && (text.front() == '[' ? text.find("]:") != std::string::npos
                                            : text.find(':') != std::string::npos);
  // (Nothing a URL would read past the authority: a '#' would pass as a fragment.)
  auto u = http::parse_url("http://" + text + "/");
  if (!u || u->target != "/" || text.find_first_of("#/?@ ") != std::string::npos ||
      (port_required && !has_port))
    bad(option + " wants " + (port_required ? "HOST:PORT" : "NAME[:PORT]") +
        " (e.g. 10.0.0.5:8080, [::1]:8443" + (port_required ? "" : ", api.example.test") +
        "), got " + echo(text));
  return {u->host, u->port};
}

// -x/--proxy http://HOST[:PORT] (or HOST:PORT): a forward proxy spoken to in plain HTTP. Its
// port defaults to 80 as an http URL's does. Not from the environment (HTTP_PROXY...): a load
// test that went through a proxy nobody asked for would measure the proxy.
void validate_proxy(const run_args& a, run_options& r) {
  std::string text = a.proxy;
  const auto scheme = text.find("://");
  if (scheme != std::string::npos && !http::iequals(text.substr(0, scheme), "http"))
    bad("-x/--proxy " + echo(a.proxy) + ": only an http:// proxy is supported (no TLS to the " +
        "proxy, no SOCKS)");
  if (scheme != std::string::npos) text = text.substr(scheme + 3);
  if (!text.empty() && text.back() == '/') text.pop_back();
  if (text.find('@') != std::string::npos)
    bad("-x/--proxy " + echo(a.proxy) +
        ": credentials go in a header, not the URL: -H 'Proxy-Authorization: Basic ...'");
  std::tie(r.proxy_host, r.proxy_port) = host_port_arg(text, "-x/--proxy", false);
  for (const auto* o : {a.connect_to_opt, a.unix_socket_opt})
    if (o->count() > 0) bad("-x/--proxy and " + o->get_name() + " exclude each other");
}

// --connect-to, --host, -4/-6, --local-address, --unix-socket, -x/--proxy.
void validate_transport(const run_args& a, run_options& r) {
  if (a.connect_to_opt->count() > 0)
    std::tie(r.connect_host, r.connect_port) = host_port_arg(a.connect_to, "--connect-to", true);
  if (a.host_opt->count() > 0) {
    r.tls.server_name = host_port_arg(a.host, "--host", false).first;
    if (has_header(r.request, "host"))
      bad("--host and -H 'Host: ...' both set the Host header: use one");
    r.request.headers.emplace_back("Host", a.host);
  }
  if (a.unix_socket_opt->count() > 0) {
    // (A path too long for a socket address is the engine's to refuse, as a host that does not
    // resolve is: load_test::resolve.)
    if (a.unix_socket.empty()) bad("--unix-socket wants a socket's path");
    for (const auto* o : {a.connect_to_opt, a.local_address_opt})
      if (o->count() > 0) bad("--unix-socket and " + o->get_name() + " exclude each other");
    if (a.ipv4 || a.ipv6) bad("-4 and -6 are IP families: not with --unix-socket");
    r.unix_socket = a.unix_socket;
  }
  if (a.proxy_opt->count() > 0) validate_proxy(a, r);
  if (a.ipv4 && a.ipv6) bad("-4 and -6 exclude each other: give one, or neither for both");
  r.family = a.ipv4 ? http::ip_family::v4 : a.ipv6 ? http::ip_family::v6 : http::ip_family::any;
  if (a.local_address_opt->count() > 0) {
    boost::system::error_code ec;
    const auto local = boost::asio::ip::make_address(a.local_address, ec);
    if (ec)
      bad("--local-address wants an IP address (e.g. 127.0.0.2 or ::1), got " +
          echo(a.local_address));
    if ((a.ipv4 && !local.is_v4()) || (a.ipv6 && !local.is_v6()))
      bad("--local-address " + echo(a.local_address) + " is not of the family " +
          (a.ipv4 ? "-4" : "-6") + " asks for");
    r.local_address = local.to_string();
  }
}

// --shard, --shards and the engines' variables; --start-at. Before validate_results, which
// names files by shard.
void validate_shard(const run_args& a, run_options& r, const environment& env) {
  const auto given = [](const CLI::Option* o, const std::string& v) {
    return o->count() > 0 ? std::optional<std::string>(v) : std::nullopt;
  };
  auto s = detect_shard(given(a.shard_opt, a.shard), given(a.shards_opt, a.shards), env);
  if (!s) bad(s.error());
  r.shard = std::move(*s);
  if (a.start_at_opt->count() > 0) {
    auto t = parse_start_time(a.start_at);
    if (!t) bad(t.error());
    const auto from_now = *t - std::chrono::system_clock::now();
    if (from_now > std::chrono::hours(24) || from_now < -std::chrono::hours(24))
      bad("--start-at " + echo(a.start_at) + " is more than a day " +
          (from_now.count() > 0 ? "ahead" : "ago") +
          ": a typo, or a clock far off? (Unix seconds and Z times are UTC)");
    r.start_at = *t;
  }
}

// The shard's share of the one-machine run, once every count is known. -c and the pool's bounds
// split floor or ceiling. A paced run's -n is dealt round-robin, as the engine deals the schedule
// (request k to shard k mod N); an unpaced run's -n follows the connections, as the engine splits
// it over its loops, so that no shard runs longer than the others. The rate and the schedule
// stay whole: the engine strides through them.
void take_share(run_options& r) {
  const auto& s = r.shard;
  if (!s.sharded()) return;
  const std::string n = std::to_string(s.count);
  const auto none_left = [&](const std::string& option, std::uint64_t total, const char* what) {
    bad(option + " " + std::to_string(total) + " leaves shard " + std::to_string(s.index) + " of " +
        n + " " + what + ": use " + option + " " + n + " or more");
  };
  const auto at_least_one = [&](const std::string& option, std::uint64_t total, const char* what) {
    if (share_of(total, s) == 0) none_left(option, total, what);
    return share_of(total, s);
  };
  if (r.open_model) {
    if (r.requests > 0) r.requests = at_least_one("-n", r.requests, "nothing to send");
    r.max_workers =
        static_cast<unsigned>(at_least_one("--max-workers", r.max_workers, "without a connection"));
    r.workers = static_cast<unsigned>(share_of(r.workers, s));
    return;
  }
  const unsigned c = r.concurrency;
  // Each shard paces an equal part of the schedule, so each needs as many connections (the
  // engine's rule for its loops, one level up).
  if (r.rps > 0 && c % s.count != 0)
    bad("-c " + std::to_string(c) + " does not split evenly over " + n +
        " shards with --rps (each paces an equal part of the schedule on its connections): use "
        "a multiple of " +
        n);
  const auto mine = static_cast<unsigned>(at_least_one("-c", c, "without a connection"));
  if (r.requests > 0 && r.rps > 0) {
    r.requests = at_least_one("-n", r.requests, "nothing to send");
  } else if (r.requests > 0) {
    const std::uint64_t before =
        std::uint64_t{s.index} * (c / s.count) + std::min(s.index, c % s.count);
    const auto total = r.requests;
    r.requests = proportional_share(total, before, before + mine, c);
    r.first_request = proportional_share(total, 0, before, c);  // the earlier shards' requests
    if (r.requests == 0) none_left("-n", total, "nothing to send");
  }
  r.concurrency = mine;
}

report_options validate_report(const report_args& a) {
  report_options r;
  r.files = a.files;
  if (r.files.empty()) bad("hit report needs at least one results file (written by hit --save)");
  if (a.output == "text") {
    r.output = report_format::text;
  } else if (a.output == "json") {
    r.output = report_format::json;
  } else if (a.output == "csv") {
    r.output = report_format::csv;
  } else if (a.output == "html") {
    r.output = report_format::html;
  } else {
    bad("unknown output format " + echo(a.output) + ": use text, json, csv or html");
  }
  r.compare = a.compare;
  if (r.compare && r.files.size() != 2) bad("--compare takes exactly two results files, A and B");
  if (r.compare && a.partial) bad("--partial goes with a merge, not --compare");
  r.partial = a.partial;
  r.out_file = a.out;
  if (!a.out.empty()) check_writable(a.out, "--out");
  for (const auto& text : a.thresholds) {
    auto t = parse_threshold(text);
    if (!t) bad(t.error());
    r.thresholds.push_back(std::move(*t));
  }
  if (r.compare && !r.thresholds.empty())
    bad("--threshold judges one run (or shards merged): not with --compare");
  return r;
}

void declare_serve(CLI::App& serve, serve_args& a) {
  serve
      .add_option("--listen", a.listen,
                  "Address to listen on, HOST:PORT (port 0: any free), or unix:PATH")
      ->capture_default_str();
  serve.add_option("--threads", a.threads, "Server threads")->capture_default_str();
  serve.add_option("--body-size", a.body_size, "Default response body size in bytes")
      ->capture_default_str();
  serve.add_option("--pause-at", a.pause_at,
                   "Stall every response from this long after the first request...");
  serve.add_option("--pause-for", a.pause_for, "...for this long (a coordinated-omission demo)");
  serve
      .add_option("--max-streams", a.max_streams,
                  "HTTP/2: most concurrent streams a connection may open")
      ->capture_default_str();
  serve
      .add_option("--goaway-after", a.goaway_after,
                  "HTTP/2: GOAWAY after this many streams on a connection, 0 = never")
      ->capture_default_str();
  serve.add_flag("--tls", a.tls,
                 "Serve HTTPS; without --cert/--key, with a self-signed certificate");
  a.cert_opt =
      serve.add_option("--cert", a.cert, "With --tls: certificate chain, PEM (leaf first)");
  a.key_opt = serve.add_option("--key", a.key, "With --tls: the certificate's private key, PEM");
  a.write_cert_opt = serve.add_option("--write-cert", a.write_cert,
                                      "With --tls: write the self-signed certificate here, PEM");
  a.client_ca_opt =
      serve.add_option("--require-client-cert", a.client_ca,
                       "With --tls: require client certificates issued by the CAs in this PEM");
  serve.footer(serve_footer);
  for (const auto& [name, type] : {std::pair{"--listen", "HOST:PORT|unix:PATH"},
                                   {"--threads", "N"},
                                   {"--body-size", "BYTES"},
                                   {"--pause-at", "DURATION"},
                                   {"--pause-for", "DURATION"},
                                   {"--max-streams", "N"},
                                   {"--goaway-after", "N"},
                                   {"--cert", "FILE"},
                                   {"--key", "FILE"},
                                   {"--write-cert", "FILE"},
                                   {"--require-client-cert", "FILE"}})
    serve.get_option(name)->type_name(type);
}

// The open model's options (--rate/--stages, --workers, --max-workers, --idle-timeout).
void validate_open_model(const run_args& a, run_options& r) {
  if (a.rate_opt->count() > 0 && a.stages_opt->count() > 0) bad("use --rate or --stages, not both");
  if (a.rps_opt->count() > 0)
    bad("--rps limits the closed model; with --rate/--stages the rate is the schedule");
  if (a.concurrency_opt->count() > 0)
    bad("with --rate/--stages connections are elastic: use --workers and --max-workers, not -c");
  if (a.rate_opt->count() > 0) {
    const auto colon = a.rate.find(':');
    if (colon == std::string::npos) {
      const double v = rate_arg(a.rate, "--rate");
      if (v <= 0) bad("--rate must be positive");
      if (a.requests_opt->count() == 0 && a.duration_opt->count() == 0)
        bad("--rate needs -n or -z: how many requests, or for how long");
      r.schedule = flow::rate_schedule::constant(v);
    } else {
      const double from = rate_arg(a.rate.substr(0, colon), "--rate");
      const double to = rate_arg(a.rate.substr(colon + 1), "--rate");
      if (r.duration.count() <= 0)
        bad("a ramp (--rate " + printable(a.rate) + ") runs over the duration: add -z, e.g. -z 1m");
      if (from <= 0 && to <= 0) bad("--rate " + printable(a.rate) + " never rises above 0");
      r.schedule = flow::rate_schedule::ramp(from, to, r.duration);
    }
    r.schedule_text = a.rate;
    r.schedule_option = "--rate";
  } else {
    r.schedule = stages_arg(a.stages);
    r.schedule_text = a.stages;
    r.schedule_option = "--stages";
    // The stages end the run; -n still caps it.
    if (a.requests_opt->count() == 0 && a.duration_opt->count() == 0) r.requests = 0;
  }
  r.max_workers = whole_number<unsigned>(a.max_workers, "--max-workers", 1, max_connections);
  r.max_workers_given = a.max_workers_opt->count() > 0;
  r.workers_given = a.workers_opt->count() > 0;
  if (r.workers_given) {
    r.workers = whole_number<unsigned>(a.workers, "--workers", 0, max_connections);
    if (r.workers > r.max_workers)
      bad("--workers " + std::to_string(r.workers) + " is above --max-workers " +
          std::to_string(r.max_workers));
  } else {
    r.workers = std::min(r.workers, r.max_workers);  // the default floor follows a lower cap
  }
  r.idle_timeout = duration_arg(a.idle_timeout, "--idle-timeout");
  if (r.idle_timeout.count() <= 0) bad("--idle-timeout must be positive");
}

// The request: method, headers, body, keep-alive.
void validate_request(const run_args& a, run_options& r) {
  if (!is_token(a.method))
    bad("bad method " + echo(a.method) + ": letters, digits and !#$%&'*+-.^_`|~ only");
  std::string method = a.method;
  for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  r.request.method = method;
  for (const auto& h : a.headers) r.request.headers.push_back(header_arg(h));
  if (!a.body.empty() && a.body_file_opt->count() > 0) bad("use -d or -D, not both");
  // (Not a conditional expression: mixing the file's string with a.body would copy 100 MB.)
  if (a.body_file_opt->count() > 0) {
    r.request.body = read_body_file(a.body_file);
  } else {
    r.request.body = a.body;
  }
  r.request.keepalive = !a.no_keepalive;
}

void validate_tls(const run_args& a, run_options& r) {
  if (r.target.scheme != "https") {
    for (const auto* o : a.tls_opts)
      if (o->count() > 0) bad(o->get_name() + " is a TLS option: it needs an https:// URL");
    return;
  }
  auto& t = r.tls;
  t.verify = !a.insecure;
  t.resume = !a.no_tls_resume;
  t.ca_file = a.cacert;
  t.cert_file = a.cert;
  t.key_file = a.key;
  if (t.cert_file.empty() != t.key_file.empty())
    bad("--cert and --key go together: give both, or neither");
  if (a.tls_min == "1.2") {
    t.min_version = http::tls_version::v1_2;
  } else if (a.tls_min == "1.3") {
    t.min_version = http::tls_version::v1_3;
  } else {
    bad("--tls-min wants 1.2 or 1.3, got " + echo(a.tls_min));
  }
  t.ciphers = a.ciphers;
  t.tls13_ciphers = a.tls13_ciphers;
}

// --h2, --http, --streams, --window-bits.
void validate_http(const run_args& a, run_options& r) {
  if (a.http_opt->count() > 0) {
    if (a.http == "1.1") {
      r.http = http::http_version::http1_1;
    } else if (a.http == "2") {
      r.http = http::http_version::http2;
    } else if (a.http == "auto") {
      r.http = http::http_version::negotiate;
    } else {
      bad("--http wants 1.1, 2 or auto, got " + echo(a.http));
    }
    if (a.h2 && r.http != http::http_version::http2) bad("--h2 and --http " + a.http + " disagree");
  }
  if (a.h2) r.http = http::http_version::http2;
  const bool may_h2 = r.http == http::http_version::http2 ||
                      (r.http == http::http_version::negotiate && r.target.scheme == "https");
  for (auto* o : {a.streams_opt, a.window_opt})
    if (o->count() > 0 && !may_h2)
      bad(o->get_name() + " is an HTTP/2 option: add --h2 (or --http auto with an https:// URL)");
  r.streams = whole_number<unsigned>(a.streams, "--streams", 1, max_streams);
  r.window_bits = whole_number<unsigned>(a.window_bits, "--window-bits", 16, 30);
  if (may_h2 && !r.request.keepalive)
    bad("--no-keepalive is HTTP/1.1's: an HTTP/2 connection carries many requests");
  if (!r.proxy_host.empty() && r.target.scheme == "http" && r.http == http::http_version::http2)
    bad("--h2 on an http:// URL (h2c) does not go through a proxy: use an https:// URL");
  // --pipeline: HTTP/1.1's, unpaced, over kept-alive connections.
  r.pipeline = whole_number<unsigned>(a.pipeline, "--pipeline", 1, max_pipeline);
  if (r.pipeline > 1) {
    if (r.http != http::http_version::http1_1)
      bad("--pipeline is HTTP/1.1's: HTTP/2 has --streams");
    if (!r.request.keepalive) bad("--pipeline and --no-keepalive do not go together");
    if (r.rps > 0 || r.open_model)
      bad(std::string(r.rps > 0 ? "--rps" : r.schedule_option) +
          " does not go with --pipeline: pipelined requests are sent as fast as answers come");
  }
}

// --targets FILE, --targets-format, --order, --seed: the targets read (exit 2 naming the line
// at fault), the run's origin taken from the first.
void validate_targets(const run_args& a, run_options& r) {
  if (a.targets_opt->count() == 0) {
    for (auto* o : {a.targets_format_opt, a.order_opt, a.seed_opt})
      if (o->count() > 0) bad(o->get_name() + " goes with --targets");
    return;
  }
  if (!a.url.empty()) bad("--targets gives the URLs: no URL as well (got " + echo(a.url) + ")");
  for (auto* o : {a.method_opt, a.body_opt, a.body_file_opt})
    if (o->count() > 0) bad(o->get_name() + " does not go with --targets: each target has its own");
  targets_format format = targets_format::automatic;
  if (a.targets_format == "http") {
    format = targets_format::http;
  } else if (a.targets_format == "json") {
    format = targets_format::json;
  } else if (a.targets_format != "auto") {
    bad("--targets-format wants http, json or auto, got " + echo(a.targets_format));
  }
  auto t = load_targets(a.targets, format, a.templates);
  if (!t) bad(t.error());
  r.targets = std::move(*t);
  r.target_count = r.targets.size();
  r.targets_file = a.targets == "-" ? "stdin" : a.targets;
  if (a.order == "random") {
    r.order = http::target_order::random;
  } else if (a.order != "round-robin") {
    bad("--order wants round-robin or random, got " + echo(a.order));
  }
  if (a.seed_opt->count() > 0) {
    if (r.order != http::target_order::random) bad("--seed goes with --order random");
    r.seed = whole_number<std::uint64_t>(a.seed, "--seed", 0);
    r.seed_given = true;
  }
  r.target = r.targets.front().url;
  r.url_text = r.target.scheme + "://" + host_port(r.target.host, r.target.port) + "/";
}

// --template: every request's placeholders parse (exit 2 with the part and offset), over
// HTTP/1.1. A request with none is sent as it is.
void validate_templates(run_options& r) {
  r.templates = true;
  if (r.http != http::http_version::http1_1)
    bad("--template is HTTP/1.1's: not with --h2 or --http 2/auto");
  const auto check = [](const http::url& u, const http::request_spec& spec, std::string where) {
    if (!http::request_template::has_placeholders(u, spec)) return;
    auto t = http::request_template::make(u, spec);
    if (!t) bad(where + t.error());
  };
  if (r.targets.empty()) return check(r.target, r.request, "");
  for (const auto& t : r.targets)
    check(t.url, {t.method, t.headers, t.body, true},
          printable(r.targets_file) + ":" + std::to_string(t.line) + ": ");
}

// Each target's headers: -H's (and --host's), but those the target sets itself. Through a
// proxy to an https URL, Proxy-Authorization goes in the CONNECT, from -H only: a target's own
// would be dropped, so it is refused.
void merge_target_headers(run_options& r) {
  for (auto& t : r.targets) {
    if (!r.proxy_host.empty() && r.target.scheme == "https" &&
        std::any_of(t.headers.begin(), t.headers.end(),
                    [](const auto& h) { return http::iequals(h.first, "proxy-authorization"); }))
      bad(printable(r.targets_file) + ":" + std::to_string(t.line) +
          ": Proxy-Authorization goes to the proxy's CONNECT, once for the run: give it with -H");
    std::vector<std::pair<std::string, std::string>> headers;
    for (const auto& h : r.request.headers)
      if (std::none_of(t.headers.begin(), t.headers.end(),
                       [&](const auto& own) { return http::iequals(own.first, h.first); }))
        headers.push_back(h);
    headers.insert(headers.end(), std::make_move_iterator(t.headers.begin()),
                   std::make_move_iterator(t.headers.end()));
    t.headers = std::move(headers);
  }
}

run_options validate_run(const run_args& a, const environment& env) {
  run_options r;
  validate_targets(a, r);
  if (r.targets.empty()) {
    if (a.url.empty()) bad("missing URL: try 'hit http://127.0.0.1:8080/' (see --help)");
    auto u = a.templates ? http::request_template::parse_url(a.url) : http::parse_url(a.url);
    if (!u) bad(u.error());
    r.url_text = a.url;
    r.target = std::move(*u);
  }
  validate_tls(a, r);

  if (a.duration_opt->count() > 0) {
    r.duration = duration_arg(a.duration, "-z/--duration");
    if (r.duration.count() <= 0) bad("-z/--duration must be positive");
  }
  if (a.requests_opt->count() == 0) {
    r.requests = r.duration.count() > 0 ? 0 : 200;
  } else {
    r.requests = whole_number<std::uint64_t>(a.requests, "-n/--requests");
  }
  r.concurrency = whole_number<unsigned>(a.concurrency, "-c/--concurrency", 1, max_connections);
  r.threads = whole_number<unsigned>(a.threads, "--threads", 1, max_threads);
  r.rps = rate_arg(a.rps, "--rps");
  r.timeout = duration_arg(a.timeout, "-t/--timeout");
  // The loops check deadlines every timeout/10, at best every millisecond.
  if (r.timeout < std::chrono::milliseconds(1))
    bad("-t/--timeout " + echo(a.timeout) + " is below the 1ms hit can enforce");

  r.open_model = a.rate_opt->count() > 0 || a.stages_opt->count() > 0;
  if (r.open_model) {
    validate_open_model(a, r);
  } else {
    for (auto* o : {a.workers_opt, a.max_workers_opt, a.idle_opt})
      if (o->count() > 0) bad(o->get_name() + " goes with --rate or --stages (the open model)");
  }
  validate_request(a, r);
  validate_transport(a, r);
  validate_http(a, r);
  validate_shard(a, r, env);
  validate_results(a, r);
  if (a.output == "text") {
    r.output = output_format::text;
  } else if (a.output == "json") {
    r.output = output_format::json;
  } else {
    bad("unknown output format " + echo(a.output) + ": use text or json");
  }
  for (const auto& text : a.thresholds) {
    auto t = parse_threshold(text);
    if (!t) bad(t.error());
    r.thresholds.push_back(std::move(*t));
  }
  if (a.abort_on_threshold && r.thresholds.empty())
    bad("--abort-on-threshold needs at least one --threshold");
  r.abort_on_threshold = a.abort_on_threshold;
  merge_target_headers(r);
  r.host_header = has_header(r.request, "host") ||
                  std::any_of(r.targets.begin(), r.targets.end(), [](const cli::target& t) {
                    return std::any_of(t.headers.begin(), t.headers.end(), [](const auto& h) {
                      return http::iequals(h.first, "host");
                    });
                  });
  if (a.templates) validate_templates(r);
  take_share(r);
  return r;
}

// --tls and the files that go with it. Whether the files hold what they should is known only
// once the server reads them (server::make, exit 2 as well).
void validate_serve_tls(const serve_args& a, http::tls_settings& t) {
  const std::pair<CLI::Option*, const std::string*> files[] = {{a.cert_opt, &a.cert},
                                                               {a.key_opt, &a.key},
                                                               {a.write_cert_opt, &a.write_cert},
                                                               {a.client_ca_opt, &a.client_ca}};
  for (const auto& [opt, value] : files) {
    if (opt->count() == 0) continue;
    if (!a.tls) bad(opt->get_name() + " goes with --tls");
    if (value->empty()) bad(opt->get_name() + " wants a file name, got ''");
  }
  if (a.cert_opt->count() > 0 && a.key_opt->count() == 0)
    bad("--cert needs --key: the certificate's private key");
  if (a.key_opt->count() > 0 && a.cert_opt->count() == 0)
    bad("--key needs --cert: the certificate it belongs to");
  if (a.write_cert_opt->count() > 0 && a.cert_opt->count() > 0)
    bad("--write-cert saves the self-signed certificate: not with --cert, whose file you have");
  t.enabled = a.tls;
  t.cert_file = a.cert;
  t.key_file = a.key;
  t.write_cert_file = a.write_cert;
  t.client_ca_file = a.client_ca;
}

serve_options validate_serve(const serve_args& a) {
  serve_options s;
  if (a.listen.rfind("unix:", 0) == 0) {
    // (Its length is server::make's to check, as the address and port are.)
    s.unix_path = a.listen.substr(5);
    if (s.unix_path.empty()) bad("--listen unix:PATH wants a socket path after 'unix:'");
  } else {
    std::tie(s.address, s.port) = split_listen(a.listen);
  }
  s.threads = whole_number<unsigned>(a.threads, "--threads", 1, max_threads);
  s.body_size = whole_number<std::size_t>(a.body_size, "--body-size", 0, http::max_body_size);
  if (!a.pause_at.empty()) s.pause_at = duration_arg(a.pause_at, "--pause-at");
  if (!a.pause_for.empty()) s.pause_for = duration_arg(a.pause_for, "--pause-for");
  s.max_streams =
      whole_number<std::uint32_t>(a.max_streams, "--max-streams", 1, http::max_h2_streams);
  s.goaway_after =
      whole_number<std::uint32_t>(a.goaway_after, "--goaway-after", 0, http::max_h2_streams);
  validate_serve_tls(a, s.tls);
  return s;
}

}  // namespace

parsed parse_command_line(int argc, const char* const* argv, const environment& env) {
  parsed out;
  CLI::App app("hit: send HTTP requests to a URL under load and report what happened.", "hit");
  app.footer(examples);
  app.set_version_flag("--version", std::string("hit ") + HIT_VERSION);
  app.get_formatter()->column_width(34);
  run_args run;
  declare_run(app, run);
  declare_results(app, run);
  declare_scale_out(app, run);
  declare_transport(app, run);
  serve_args serve_a;
  auto* serve = app.add_subcommand("serve", "Run the embedded test server (for demos and tests)");
  declare_serve(*serve, serve_a);
  report_args report_a;
  auto* report = app.add_subcommand(
      "report", "Report on results files (hit --save): one, several merged, or two compared");
  declare_report(*report, report_a);
  report->footer(report_footer);

  try {
    app.parse(argc, argv);
    if (serve->parsed()) {
      // `hit -n 5 URL serve` would otherwise drop -n and the URL without a word.
      for (const auto* o : app.get_options())
        if (o->count() > 0)
          bad("'serve' takes only its own options, after it (see hit serve --help): remove " +
              (o->nonpositional() ? o->get_name() : std::string("the URL")));
      out.serve = validate_serve(serve_a);
      out.what = parsed::action::serve;
    } else if (report->parsed()) {
      for (const auto* o : app.get_options())
        if (o->count() > 0)
          bad("'report' takes only its own options, after it (see hit report --help): remove " +
              (o->nonpositional() ? o->get_name() : std::string("the URL")));
      out.report = validate_report(report_a);
      out.what = parsed::action::report;
    } else {
      out.run = validate_run(run, env);
      out.what = parsed::action::run;
    }
  } catch (const CLI::CallForHelp&) {
    out.message = serve->parsed() ? serve->help() : report->parsed() ? report->help() : app.help();
    out.exit_code = exit_ok;
  } catch (const CLI::CallForVersion&) {
    out.message = std::string("hit ") + HIT_VERSION + "\n";
    out.exit_code = exit_ok;
  } catch (const CLI::ParseError& e) {
    std::string m = e.what();
    while (!m.empty() && m.back() == '\n') m.pop_back();
    out.message = "hit: " + printable(m, 400) + " (see hit --help)\n";
    out.exit_code = exit_usage;
  } catch (const error_exit& e) {
    out.message = "hit: " + e.message + "\n";
    out.exit_code = exit_usage;
  }
  return out;
}

}  // namespace hit::cli

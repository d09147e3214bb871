#include "options.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include "hit/stats/duration.hpp"
#include "hit/version.hpp"

namespace hit::cli {
namespace {

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
  hit serve --listen 127.0.0.1:8080               the embedded test server

Exit codes:
  0    the run finished (HTTP error statuses are results, not failures)
  1    the run could not be done (host not found, every connection refused, ...)
  2    bad options or input
  130  interrupted (Ctrl-C or SIGTERM): the report covers what was done
)";

struct error_exit {
  std::string message;
};

template <class T>
T positive(long long v, const char* what) {
  if (v <= 0)
    throw error_exit{std::string(what) + " must be a positive number, got " + std::to_string(v)};
  if (static_cast<unsigned long long>(v) > std::numeric_limits<T>::max())
    throw error_exit{std::string(what) + " is too large: " + std::to_string(v)};
  return static_cast<T>(v);
}

std::chrono::nanoseconds duration_arg(const std::string& text, const char* what) {
  auto d = stats::parse_duration(text);
  if (!d)
    throw error_exit{std::string("cannot parse ") + what + " '" + text +
                     "': use a number with a unit, e.g. 500ms, 10s, 2m"};
  return *d;
}

std::pair<std::string, std::string> header_arg(const std::string& h) {
  const auto colon = h.find(':');
  if (colon == std::string::npos)
    throw error_exit{"header '" + h + "' has no colon: use -H 'Name: value'"};
  if (colon == 0) throw error_exit{"header '" + h + "' has no name: use -H 'Name: value'"};
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t");
    const auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  auto name = trim(h.substr(0, colon));
  if (name.find_first_of(" \t\r\n") != std::string::npos)
    throw error_exit{"header '" + h + "' has a bad name"};
  return {name, trim(h.substr(colon + 1))};
}

double rate_arg(const std::string& text, const char* what) {
  try {
    std::size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v) && v >= 0) return v;
  } catch (const std::exception&) {
  }
  throw error_exit{std::string("bad rate '") + text + "' in " + what +
                   ": use requests per second, e.g. 500 or 0.5"};
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
      throw error_exit{"bad stage '" + stage + "' in --stages: use DURATION:RATE, e.g. 30s:100"};
    const auto d = stats::parse_duration(stage.substr(0, colon));
    if (!d || d->count() <= 0)
      throw error_exit{"bad duration in stage '" + stage + "': use e.g. 30s, 1m"};
    stages.emplace_back(*d, rate_arg(stage.substr(colon + 1), "--stages"));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  bool any = false;
  for (const auto& st : stages) any = any || st.second > 0;
  if (!any) throw error_exit{"--stages never rises above 0 requests per second"};
  return flow::rate_schedule::stages(0, stages);
}

std::pair<std::string, std::string> split_listen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) throw error_exit{"--listen wants HOST:PORT, got '" + s + "'"};
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  const std::string port = s.substr(colon + 1);
  unsigned long p = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p > 65535)
    throw error_exit{"--listen wants HOST:PORT with a port from 0 to 65535, got '" + s + "'"};
  boost::system::error_code bad;
  boost::asio::ip::make_address(host, bad);
  if (bad)
    throw error_exit{"--listen wants an IP address (e.g. 127.0.0.1 or [::1]), got '" + host + "'"};
  return {host, port};
}

}  // namespace

parsed parse_command_line(int argc, const char* const* argv) {
  parsed out;
  CLI::App app("hit: send HTTP requests to a URL under load and report what happened.", "hit");
  app.footer(examples);
  app.set_version_flag("--version", std::string("hit ") + HIT_VERSION);
  app.get_formatter()->column_width(34);

  std::string url;
  long long requests = 0;
  long long concurrency = 50;
  long long threads = std::max(1u, std::thread::hardware_concurrency());
  double rps = 0;
  std::string duration, timeout = "20s", method = "GET", body, body_file, output = "text";
  std::vector<std::string> headers;
  bool no_keepalive = false;

  app.add_option("url", url, "Target URL (http://host[:port]/path)");
  auto* requests_opt = app.add_option("-n,--requests", requests,
                                      "Requests to send [default: 200, or no limit with -z]");
  app.add_option("-c,--concurrency", concurrency, "Connections working at once")
      ->capture_default_str();
  app.add_option("--rps", rps, "Global rate limit in requests per second, 0 = none")
      ->capture_default_str();
  app.add_option("-z,--duration", duration,
                 "Send for this long (e.g. 30s, 2m); with -n, stop at whichever comes first");
  app.add_option("-t,--timeout", timeout, "Timeout per request (and per connect)")
      ->capture_default_str();
  app.add_option("-m,--method", method, "HTTP method")->capture_default_str();
  app.add_option("-H,--header", headers, "Add a header, 'Name: value' (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-d,--body", body, "Request body");
  app.add_option("-D,--body-file", body_file, "Request body from a file");
  app.add_flag("--no-keepalive", no_keepalive, "Open a new connection for every request");
  app.add_option("-o,--output", output, "Report format: text or json")->capture_default_str();
  app.add_option("--threads", threads, "Event-loop threads [default: number of cores]");

  std::string rate, stages;
  long long workers = 10, max_workers = 10000;
  std::string idle_timeout = "5s";
  auto* rate_opt = app.add_option(
      "--rate", rate,
      "Open model: start R requests per second whatever the server does; R1:R2 ramps over -z");
  auto* stages_opt = app.add_option(
      "--stages", stages, "Open model: k6-style rate stages from 0, e.g. 30s:100,1m:500,30s:0");
  auto* workers_opt =
      app.add_option("--workers", workers, "Open model: connections opened at the start and kept")
          ->capture_default_str();
  auto* max_workers_opt =
      app.add_option("--max-workers", max_workers,
                     "Open model: most connections; beyond, due requests wait (counted late)")
          ->capture_default_str();
  auto* idle_opt = app.add_option("--idle-timeout", idle_timeout,
                                  "Open model: retire connections idle this long")
                       ->capture_default_str();
  auto* concurrency_opt = app.get_option("--concurrency");
  auto* rps_opt = app.get_option("--rps");

  auto* serve = app.add_subcommand("serve", "Run the embedded test server (for demos and tests)");
  std::string listen = "127.0.0.1:0";
  long long serve_threads = 1;
  long long body_size = 14;
  serve->add_option("--listen", listen, "Address to listen on, HOST:PORT (port 0: any free)")
      ->capture_default_str();
  serve->add_option("--threads", serve_threads, "Server threads")->capture_default_str();
  serve->add_option("--body-size", body_size, "Default response body size in bytes")
      ->capture_default_str();
  std::string pause_at, pause_for;
  serve->add_option("--pause-at", pause_at,
                    "Stall every response from this long after the first request...");
  serve->add_option("--pause-for", pause_for, "...for this long (a coordinated-omission demo)");
  serve->footer(
      "\nPer-request knobs in the query string: delay=100ms status=503 size=16384 chunked=1\n"
      "close=1 (close after the response) reset=1 (RST instead of a response).\n"
      "Prints 'listening on http://ADDRESS/' once bound; stops on Ctrl-C or SIGTERM.");

  try {
    app.parse(argc, argv);
    if (serve->parsed()) {
      auto [host, port] = split_listen(listen);
      out.serve.address = host;
      out.serve.port = port;
      out.serve.threads = positive<unsigned>(serve_threads, "--threads");
      if (body_size < 0) throw error_exit{"--body-size must be >= 0"};
      out.serve.body_size = static_cast<std::size_t>(body_size);
      if (!pause_at.empty()) out.serve.pause_at = duration_arg(pause_at, "--pause-at");
      if (!pause_for.empty()) out.serve.pause_for = duration_arg(pause_for, "--pause-for");
      out.what = parsed::action::serve;
      return out;
    }

    auto& r = out.run;
    if (url.empty()) throw error_exit{"missing URL: try 'hit http://127.0.0.1:8080/' (see --help)"};
    std::string err;
    auto u = http::parse_url(url, err);
    if (!u) throw error_exit{err};
    if (u->scheme == "https")
      throw error_exit{"https:// is not supported yet: use http:// (TLS is planned)"};
    r.url_text = url;
    r.target = *u;

    if (!duration.empty()) {
      r.duration = duration_arg(duration, "duration");
      if (r.duration.count() <= 0) throw error_exit{"duration must be positive"};
    }
    if (requests_opt->count() == 0) {
      r.requests = r.duration.count() > 0 ? 0 : 200;
    } else {
      r.requests = positive<std::uint64_t>(requests, "-n/--requests");
    }
    r.concurrency = positive<unsigned>(concurrency, "-c/--concurrency");
    r.threads = positive<unsigned>(threads, "--threads");
    if (!(rps >= 0) || !std::isfinite(rps))
      throw error_exit{"--rps must be >= 0, got " + std::to_string(rps)};
    r.rps = rps;
    r.timeout = duration_arg(timeout, "timeout");

    r.open_model = rate_opt->count() > 0 || stages_opt->count() > 0;
    if (!r.open_model) {
      for (auto* o : {workers_opt, max_workers_opt, idle_opt})
        if (o->count() > 0)
          throw error_exit{o->get_name() + " goes with --rate or --stages (the open model)"};
    } else {
      if (rate_opt->count() > 0 && stages_opt->count() > 0)
        throw error_exit{"use --rate or --stages, not both"};
      if (rps_opt->count() > 0)
        throw error_exit{
            "--rps limits the closed model; with --rate/--stages the rate is the schedule"};
      if (concurrency_opt->count() > 0)
        throw error_exit{
            "with --rate/--stages connections are elastic: use --workers and --max-workers, not "
            "-c"};
      if (rate_opt->count() > 0) {
        const auto colon = rate.find(':');
        if (colon == std::string::npos) {
          const double v = rate_arg(rate, "--rate");
          if (v <= 0) throw error_exit{"--rate must be positive"};
          r.schedule = flow::rate_schedule::constant(v);
        } else {
          const double from = rate_arg(rate.substr(0, colon), "--rate");
          const double to = rate_arg(rate.substr(colon + 1), "--rate");
          if (r.duration.count() <= 0)
            throw error_exit{"a ramp (--rate " + rate +
                             ") runs over the duration: add -z, e.g. -z 1m"};
          if (from <= 0 && to <= 0) throw error_exit{"--rate " + rate + " never rises above 0"};
          r.schedule = flow::rate_schedule::ramp(from, to, r.duration);
        }
        r.schedule_text = rate;
        r.schedule_option = "--rate";
        if (colon == std::string::npos && requests_opt->count() == 0 && duration.empty())
          throw error_exit{"--rate needs -n or -z: how many requests, or for how long"};
      } else {
        r.schedule = stages_arg(stages);
        r.schedule_text = stages;
        r.schedule_option = "--stages";
        // The stages end the run; -n still caps it.
        if (requests_opt->count() == 0 && duration.empty()) r.requests = 0;
      }
      r.workers = static_cast<unsigned>(std::max(0LL, workers));
      if (workers < 0) throw error_exit{"--workers must be >= 0"};
      r.max_workers = positive<unsigned>(max_workers, "--max-workers");
      r.max_workers_given = max_workers_opt->count() > 0;
      if (r.workers > r.max_workers) throw error_exit{"--workers is above --max-workers"};
      r.idle_timeout = duration_arg(idle_timeout, "idle timeout");
      if (r.idle_timeout.count() <= 0) throw error_exit{"--idle-timeout must be positive"};
    }
    if (r.timeout.count() <= 0) throw error_exit{"timeout must be positive"};

    if (method.empty() || method.find_first_of(" \t\r\n") != std::string::npos)
      throw error_exit{"bad method '" + method + "'"};
    for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    r.request.method = method;
    for (const auto& h : headers) r.request.headers.push_back(header_arg(h));
    if (!body.empty() && !body_file.empty()) throw error_exit{"use -d or -D, not both"};
    r.request.body = body;
    if (!body_file.empty()) {
      std::error_code fe;
      if (!std::filesystem::is_regular_file(body_file, fe))
        throw error_exit{"cannot read body file '" + body_file + "': not a readable file"};
      std::ifstream in(body_file, std::ios::binary);
      if (!in) throw error_exit{"cannot read body file '" + body_file + "'"};
      std::ostringstream ss;
      ss << in.rdbuf();
      if (in.bad()) throw error_exit{"cannot read body file '" + body_file + "'"};
      r.request.body = ss.str();
    }
    r.request.keepalive = !no_keepalive;
    if (output == "text") {
      r.output = output_format::text;
    } else if (output == "json") {
      r.output = output_format::json;
    } else {
      throw error_exit{"unknown output format '" + output + "': use text or json"};
    }
    out.what = parsed::action::run;
  } catch (const CLI::CallForHelp&) {
    out.message = serve->parsed() ? serve->help() : app.help();
    out.exit_code = exit_ok;
  } catch (const CLI::CallForVersion&) {
    out.message = std::string("hit ") + HIT_VERSION + "\n";
    out.exit_code = exit_ok;
  } catch (const CLI::ParseError& e) {
    std::string m = e.what();
    if (!m.empty() && m.back() == '\n') m.pop_back();
    out.message = "hit: " + m + " (see hit --help)\n";
    out.exit_code = exit_usage;
  } catch (const error_exit& e) {
    out.message = "hit: " + e.message + "\n";
    out.exit_code = exit_usage;
  }
  return out;
}

}  // namespace hit::cli

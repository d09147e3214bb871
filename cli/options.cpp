#include "options.hpp"

#include <CLI/CLI.hpp>
#include <fstream>
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

std::pair<std::string, std::string> split_listen(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) throw error_exit{"--listen wants HOST:PORT, got '" + s + "'"};
  std::string host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";
  return {host, s.substr(colon + 1)};
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

  auto* serve = app.add_subcommand("serve", "Run the embedded test server (for demos and tests)");
  std::string listen = "127.0.0.1:0";
  long long serve_threads = 1;
  long long body_size = 14;
  serve->add_option("--listen", listen, "Address to listen on, HOST:PORT (port 0: any free)")
      ->capture_default_str();
  serve->add_option("--threads", serve_threads, "Server threads")->capture_default_str();
  serve->add_option("--body-size", body_size, "Default response body size in bytes")
      ->capture_default_str();
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
    if (r.timeout.count() <= 0) throw error_exit{"timeout must be positive"};

    if (method.empty() || method.find_first_of(" \t\r\n") != std::string::npos)
      throw error_exit{"bad method '" + method + "'"};
    for (auto& c : method)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    r.request.method = method;
    for (const auto& h : headers)
      r.request.headers.push_back(header_arg(h));
    if (!body.empty() && !body_file.empty()) throw error_exit{"use -d or -D, not both"};
    r.request.body = body;
    if (!body_file.empty()) {
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

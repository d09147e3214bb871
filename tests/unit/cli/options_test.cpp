#include "options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using hit::cli::parse_command_line;
using hit::cli::parsed;

namespace {
parsed parse(std::vector<const char*> args) {
  args.insert(args.begin(), "hit");
  return parse_command_line(static_cast<int>(args.size()), args.data());
}
}  // namespace

TEST(options, defaults_are_heys) {
  const auto p = parse({"http://127.0.0.1:8080/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.requests, 200u);
  EXPECT_EQ(p.run.concurrency, 50u);
  EXPECT_EQ(p.run.timeout, 20s);
  EXPECT_EQ(p.run.rps, 0.0);
  EXPECT_EQ(p.run.duration, 0s);
  EXPECT_EQ(p.run.request.method, "GET");
  EXPECT_TRUE(p.run.request.keepalive);
  EXPECT_EQ(p.run.threads, std::max(1u, std::thread::hardware_concurrency()));
  EXPECT_EQ(p.run.output, hit::cli::output_format::text);
}

TEST(options, duration_alone_means_no_count_limit) {
  const auto p = parse({"-z", "1m30s", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.requests, 0u);
  EXPECT_EQ(p.run.duration, 90s);
  const auto both = parse({"-z", "10s", "-n", "5", "http://h/"});
  EXPECT_EQ(both.run.requests, 5u);
  EXPECT_EQ(both.run.duration, 10s);
}

TEST(options, everything_set) {
  const auto p = parse({"-n",
                        "10",
                        "-c",
                        "3",
                        "--rps",
                        "2.5",
                        "-t",
                        "500ms",
                        "-m",
                        "post",
                        "-H",
                        "A: 1",
                        "-H",
                        "B:2",
                        "-d",
                        "x=1",
                        "--no-keepalive",
                        "-o",
                        "json",
                        "--threads",
                        "2",
                        "http://h:81/p?q"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  const auto& r = p.run;
  EXPECT_EQ(r.requests, 10u);
  EXPECT_EQ(r.concurrency, 3u);
  EXPECT_EQ(r.rps, 2.5);
  EXPECT_EQ(r.timeout, 500ms);
  EXPECT_EQ(r.request.method, "POST");
  ASSERT_EQ(r.request.headers.size(), 2u);
  EXPECT_EQ(r.request.headers[1], (std::pair<std::string, std::string>{"B", "2"}));
  EXPECT_EQ(r.request.body, "x=1");
  EXPECT_FALSE(r.request.keepalive);
  EXPECT_EQ(r.output, hit::cli::output_format::json);
  EXPECT_EQ(r.threads, 2u);
  EXPECT_EQ(r.target.port, "81");
  EXPECT_EQ(r.target.target, "/p?q");
}

TEST(options, serve_subcommand) {
  const auto p = parse({"serve", "--listen", "[::1]:8081", "--threads", "2"});
  ASSERT_EQ(p.what, parsed::action::serve) << p.message;
  EXPECT_EQ(p.serve.address, "::1");
  EXPECT_EQ(p.serve.port, "8081");
  EXPECT_EQ(p.serve.threads, 2u);
}

TEST(options, serve_http2_settings) {
  const auto defaults = parse({"serve"});
  ASSERT_EQ(defaults.what, parsed::action::serve) << defaults.message;
  EXPECT_EQ(defaults.serve.max_streams, 100u);
  EXPECT_EQ(defaults.serve.goaway_after, 0u);
  const auto p = parse({"serve", "--max-streams", "8", "--goaway-after", "1000"});
  ASSERT_EQ(p.what, parsed::action::serve) << p.message;
  EXPECT_EQ(p.serve.max_streams, 8u);
  EXPECT_EQ(p.serve.goaway_after, 1000u);
  for (const auto& [args, says] : std::vector<std::pair<std::vector<const char*>, std::string>>{
           {{"serve", "--max-streams", "0"}, "--max-streams must be at least 1, got '0'"},
           {{"serve", "--max-streams", "2147483648"},
            "--max-streams '2147483648' is too large: at most 2147483647"},
           {{"serve", "--goaway-after", "-1"}, "--goaway-after wants a whole number, got '-1'"},
           {{"serve", "--goaway-after", "many"}, "--goaway-after wants a whole number"}}) {
    const auto bad = parse(args);
    EXPECT_EQ(bad.what, parsed::action::exit);
    EXPECT_EQ(bad.exit_code, 2);
    EXPECT_NE(bad.message.find(says), std::string::npos) << bad.message;
    EXPECT_EQ(bad.message.find('\n'), bad.message.size() - 1) << bad.message;
  }
}

TEST(options, serve_tls) {
  const auto plain = parse({"serve"});
  ASSERT_EQ(plain.what, parsed::action::serve) << plain.message;
  EXPECT_FALSE(plain.serve.tls.enabled);

  const auto self_signed = parse({"serve", "--tls", "--write-cert", "c.pem"});
  ASSERT_EQ(self_signed.what, parsed::action::serve) << self_signed.message;
  EXPECT_TRUE(self_signed.serve.tls.enabled);
  EXPECT_EQ(self_signed.serve.tls.write_cert_file, "c.pem");
  EXPECT_EQ(self_signed.serve.tls.cert_file, "");

  const auto files = parse(
      {"serve", "--tls", "--cert", "c.pem", "--key", "k.pem", "--require-client-cert", "ca.pem"});
  ASSERT_EQ(files.what, parsed::action::serve) << files.message;
  EXPECT_EQ(files.serve.tls.cert_file, "c.pem");
  EXPECT_EQ(files.serve.tls.key_file, "k.pem");
  EXPECT_EQ(files.serve.tls.client_ca_file, "ca.pem");
}

TEST(options, serve_tls_options_that_do_not_go_together) {
  for (auto args : std::vector<std::vector<const char*>>{
           {"serve", "--cert", "c.pem", "--key", "k.pem"},
           {"serve", "--write-cert", "c.pem"},
           {"serve", "--require-client-cert", "ca.pem"},
           {"serve", "--tls", "--cert", "c.pem"},
           {"serve", "--tls", "--key", "k.pem"},
           {"serve", "--tls", "--cert", "c.pem", "--key", "k.pem", "--write-cert", "w.pem"},
           {"serve", "--tls", "--write-cert", ""}}) {
    const auto p = parse(args);
    EXPECT_EQ(p.what, parsed::action::exit);
    EXPECT_EQ(p.exit_code, 2);
    ASSERT_FALSE(p.message.empty());
    EXPECT_EQ(p.message.find('\n'), p.message.size() - 1) << p.message;
  }
}

TEST(options, errors_are_one_line_with_exit_code_2) {
  for (auto args : std::vector<std::vector<const char*>>{{},
                                                         {"-n", "-1", "http://h/"},
                                                         {"-d", "a", "-D", "f", "http://h/"},
                                                         {"-z", "0s", "http://h/"},
                                                         {"-m", "GE T", "http://h/"},
                                                         {"http://h/", "extra"}}) {
    const auto p = parse(args);
    EXPECT_EQ(p.what, parsed::action::exit);
    EXPECT_EQ(p.exit_code, 2);
    ASSERT_FALSE(p.message.empty());
    EXPECT_EQ(p.message.find('\n'), p.message.size() - 1) << p.message;
  }
}

TEST(options, open_model_rate_and_pool) {
  const auto p = parse({"--rate", "500", "-z", "10s", "--workers", "4", "--max-workers", "64",
                        "--idle-timeout", "2s", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  const auto& r = p.run;
  EXPECT_TRUE(r.open_model);
  ASSERT_TRUE(r.schedule.has_value());
  EXPECT_EQ(r.schedule->due(500), 1s);
  EXPECT_EQ(r.workers, 4u);
  EXPECT_EQ(r.max_workers, 64u);
  EXPECT_TRUE(r.max_workers_given);
  EXPECT_EQ(r.idle_timeout, 2s);
}

TEST(options, open_model_ramp_spans_the_duration) {
  const auto p = parse({"--rate", "100:300", "-z", "2s", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.schedule->total(), 400u);
}

TEST(options, open_model_stages_end_the_run_by_themselves) {
  const auto p = parse({"--stages", "1s:200,1s:200,1s:0", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.requests, 0u) << "no default -n: the stages end the run";
  EXPECT_EQ(p.run.schedule->total(), 400u);
}

TEST(options, open_model_refuses_closed_model_options_and_bad_shapes) {
  for (auto args : std::vector<std::vector<const char*>>{
           {"--rate", "10", "--rps", "5", "http://h/"},
           {"--rate", "10", "-c", "5", "http://h/"},
           {"--rate", "10", "--stages", "1s:5", "http://h/"},
           {"--rate", "10:20", "http://h/"},
           {"--rate", "0", "http://h/"},
           {"--rate", "fast", "http://h/"},
           {"--stages", "1s:0", "http://h/"},
           {"--stages", "1s", "http://h/"},
           {"--stages", "soon:5", "http://h/"},
           {"--workers", "5", "http://h/"},
           {"--rate", "10", "--workers", "9", "--max-workers", "3", "http://h/"}}) {
    const auto p = parse(args);
    EXPECT_EQ(p.exit_code, 2) << args[0] << " " << args[1];
    EXPECT_EQ(p.what, parsed::action::exit);
    EXPECT_EQ(p.message.find('\n'), p.message.size() - 1) << p.message;
  }
}

TEST(options, thresholds_are_parsed_in_order_before_the_run) {
  const auto p = parse({"--threshold", "p99<250ms", "--threshold", "errors < 0.1%",
                        "--abort-on-threshold", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  ASSERT_EQ(p.run.thresholds.size(), 2u);
  EXPECT_EQ(p.run.thresholds[0].metric, "p99");
  EXPECT_EQ(p.run.thresholds[1].expression, "errors < 0.1%");
  EXPECT_TRUE(p.run.abort_on_threshold);
  const auto none = parse({"http://h/"});
  EXPECT_TRUE(none.run.thresholds.empty());
  EXPECT_FALSE(none.run.abort_on_threshold);
}

TEST(options, a_bad_threshold_is_a_usage_error_of_one_line) {
  const auto p = parse({"--threshold", "p99<1s", "--threshold", "p99<250", "http://h/"});
  EXPECT_EQ(p.what, parsed::action::exit);
  EXPECT_EQ(p.exit_code, hit::cli::exit_usage);
  EXPECT_EQ(p.message,
            "hit: threshold 'p99<250': p99 is a latency: '250' needs a unit (ns, us, "
            "ms, s, m, h), e.g. 250ms\n");
  const auto alone = parse({"--abort-on-threshold", "http://h/"});
  EXPECT_EQ(alone.exit_code, hit::cli::exit_usage);
  EXPECT_NE(alone.message.find("needs at least one --threshold"), std::string::npos);
}

// `hit report --threshold X A B`: the files are files, not more expressions.
TEST(options, report_thresholds_do_not_swallow_the_files) {
  for (const auto& args :
       {std::vector<const char*>{"report", "--threshold", "p99<1s", "a.json", "b.json"},
        std::vector<const char*>{"report", "a.json", "--threshold", "p99<1s", "b.json"}}) {
    const auto p = parse(args);
    ASSERT_EQ(p.what, parsed::action::report) << p.message;
    EXPECT_EQ(p.report.files, (std::vector<std::string>{"a.json", "b.json"}));
    ASSERT_EQ(p.report.thresholds.size(), 1u);
  }
  const auto c = parse({"report", "--compare", "--threshold", "p99<1s", "a.json", "b.json"});
  EXPECT_EQ(c.exit_code, hit::cli::exit_usage);
}

TEST(options, transport_knobs) {
  auto p = parse({"--connect-to", "10.0.0.5:8080", "--host", "api.example.test:8443", "-4",
                  "--local-address", "127.0.0.2", "https://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.connect_host, "10.0.0.5");
  EXPECT_EQ(p.run.connect_port, "8080");
  EXPECT_EQ(p.run.tls.server_name, "api.example.test");  // SNI: the name, not the port
  ASSERT_EQ(p.run.request.headers.size(), 1u);
  EXPECT_EQ(p.run.request.headers[0].second, "api.example.test:8443");  // the Host header
  EXPECT_EQ(p.run.family, hit::http::ip_family::v4);
  EXPECT_EQ(p.run.local_address, "127.0.0.2");
  p = parse({"--connect-to", "[::1]:9000", "-6", "--local-address", "::1", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.connect_host, "::1");
  EXPECT_EQ(p.run.connect_port, "9000");
  EXPECT_EQ(p.run.family, hit::http::ip_family::v6);
  EXPECT_TRUE(p.run.request.headers.empty());  // the URL's Host
  EXPECT_TRUE(p.run.tls.server_name.empty());
}

TEST(options, proxy) {
  auto p = parse({"-x", "http://proxy.example.test:3128/", "https://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.proxy_host, "proxy.example.test");
  EXPECT_EQ(p.run.proxy_port, "3128");
  p = parse({"--proxy", "[::1]", "--h2", "https://h/"});  // an http URL's port: 80
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.proxy_host, "::1");
  EXPECT_EQ(p.run.proxy_port, "80");
  EXPECT_TRUE(parse({"http://h/"}).run.proxy_host.empty());
}

TEST(options, targets_options_need_targets_and_a_file_without_url_method_or_body) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--order", "random", "http://h/"}, "--order goes with --targets"},
      {{"--seed", "1", "http://h/"}, "--seed goes with --targets"},
      {{"--targets-format", "json", "http://h/"}, "--targets-format goes with --targets"},
      {{"--targets", "/nonexistent/t.txt", "http://h/"}, "no URL as well"},
      {{"--targets", "/nonexistent/t.txt", "-m", "POST"}, "--method does not go with --targets"},
      {{"--targets", "/nonexistent/t.txt", "-d", "x"}, "--body does not go with --targets"},
      {{"--targets", "/nonexistent/t.txt", "--targets-format", "yaml"}, "--targets-format wants"},
      {{"--targets", "/nonexistent/t.txt"}, "cannot read targets file"},
  };
  for (const auto& [args, says] : cases) {
    const auto p = parse(args);
    EXPECT_EQ(p.exit_code, hit::cli::exit_usage) << says;
    EXPECT_NE(p.message.find(says), std::string::npos) << p.message;
  }
}

TEST(options, transport_knobs_refuse_bad_input_in_one_line) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--connect-to", "10.0.0.5", "http://h/"}, "--connect-to wants HOST:PORT"},
      {{"--connect-to", "[::1]", "http://h/"}, "--connect-to wants HOST:PORT"},
      {{"--connect-to", "h:0", "http://h/"}, "--connect-to wants HOST:PORT"},
      {{"--connect-to", "h:80/x", "http://h/"}, "--connect-to wants HOST:PORT"},
      {{"--host", "", "http://h/"}, "--host wants NAME[:PORT]"},
      {{"--host", "a b", "http://h/"}, "--host wants NAME[:PORT]"},
      {{"--host", "api.example.test#frag", "http://h/"}, "--host wants NAME[:PORT]"},
      {{"--connect-to", "h:80#f", "http://h/"}, "--connect-to wants HOST:PORT"},
      {{"--connect-to", "u@h:80", "http://h/"}, "--connect-to wants HOST:PORT"},
      {{"--host", "x", "-H", "host: y", "http://h/"}, "both set the Host header"},
      {{"-4", "-6", "http://h/"}, "-4 and -6 exclude each other"},
      {{"--local-address", "localhost", "http://h/"}, "--local-address wants an IP address"},
      {{"-4", "--local-address", "::1", "http://h/"}, "is not of the family -4 asks for"},
      {{"--unix-socket", "", "http://h/"}, "--unix-socket wants a socket's path"},
      {{"--unix-socket", "/s", "--connect-to", "h:1", "http://h/"}, "exclude each other"},
      {{"--unix-socket", "/s", "-6", "http://h/"}, "not with --unix-socket"},
      {{"-x", "https://p:3128", "http://h/"}, "only an http:// proxy is supported"},
      {{"-x", "socks5://p:1080", "http://h/"}, "only an http:// proxy is supported"},
      {{"-x", "http://u:pw@p:3128", "http://h/"}, "-H 'Proxy-Authorization: Basic ...'"},
      {{"-x", "p:3128/path", "http://h/"}, "-x/--proxy wants NAME[:PORT]"},
      {{"-x", "", "http://h/"}, "-x/--proxy wants NAME[:PORT]"},
      {{"-x", "p:3128", "--connect-to", "h:1", "http://h/"}, "exclude each other"},
      {{"-x", "p:3128", "--unix-socket", "/s", "http://h/"}, "exclude each other"},
      {{"-x", "p:3128", "--h2", "http://h/"}, "does not go through a proxy"},
  };
  for (const auto& [args, says] : cases) {
    const auto p = parse(args);
    EXPECT_EQ(p.what, parsed::action::exit) << says;
    EXPECT_EQ(p.exit_code, hit::cli::exit_usage) << says;
    EXPECT_NE(p.message.find(says), std::string::npos) << p.message;
    EXPECT_EQ(p.message.find('\n'), p.message.size() - 1) << p.message;
  }
}

TEST(options, pipeline) {
  EXPECT_EQ(parse({"http://h/"}).run.pipeline, 1u);
  auto p = parse({"--pipeline", "16", "-c", "4", "http://h/"});
  ASSERT_EQ(p.what, parsed::action::run) << p.message;
  EXPECT_EQ(p.run.pipeline, 16u);
  EXPECT_EQ(p.run.http, hit::http::http_version::http1_1);
  EXPECT_EQ(parse({"--pipeline", "4", "--http", "auto", "https://h/"}).exit_code, 2);
  EXPECT_EQ(parse({"--pipeline", "4", "--rps", "10", "http://h/"}).exit_code, 2);
  // One request at a time goes with everything.
  EXPECT_EQ(parse({"--pipeline", "1", "--h2", "--rps", "10", "http://h/"}).what,
            parsed::action::run);
}

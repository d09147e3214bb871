// The HTML report in a real browser: headless Chromium (Debian's chromium) loads pages made by
// html_report() from models built here, and the test reads what the page's self-check wrote on
// <body> (data-charts, data-drawn, data-blank, data-errors, data-ready; cli/html/report.js) from
// the dumped DOM, and the console from Chromium's log on stderr: the page logs nothing, so any
// console line (an uncaught exception is one) fails. Skipped when Chromium is not installed.
//
// HIT_HTML_REPORT_KEEP=DIR keeps the pages (one.html, compare.html, ...) in DIR:
// docs/html-report.png was taken from compare.html.

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "harness.hpp"
#include "html_report.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* chromium_path = "/usr/bin/chromium";

// A latency distribution: most responses around `median_s`, a slow tail 12x as slow. Its CDF
// gives the buckets, percentiles and summary, so the model's parts agree as a real run's do.
struct latency_shape {
  double median_s;
  double tail_share = 0.03;
  double cdf(double x) const {
    auto lognormal = [](double v, double median, double sigma) {
      return 0.5 * std::erfc(-(std::log(v) - std::log(median)) / (sigma * std::sqrt(2.0)));
    };
    return (1 - tail_share) * lognormal(x, median_s, 0.35) +
           tail_share * lognormal(x, median_s * 12, 0.6);
  }
  double quantile(double p) const {
    double lo = 1e-7, hi = 100;
    for (int i = 0; i < 200; ++i) {
      const double mid = std::sqrt(lo * hi);
      (cdf(mid) < p ? lo : hi) = mid;
    }
    return hi;
  }
};

// One run: `intervals` seconds at about `rps`, a stall at 12-14 s (no response at all in the
// 13th second), a burst of timeouts and resets near the end.
json make_run(const std::string& label, double start, int intervals, double rps,
              latency_shape shape, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, 0.04);
  json t_s = json::array(), requests = json::array(), rps_s = json::array(), errors = json::array(),
       p50 = json::array(), p90 = json::array(), p99 = json::array(), max = json::array(),
       c2xx = json::array(), c5xx = json::array();
  double total = 0, total_errors = 0, fives = 0;
  for (int i = 0; i < intervals; ++i) {
    const bool stalled = i == 13, slow = i == 12 || i == 14;
    const double n = stalled ? 0 : std::round(rps * (slow ? 0.35 : 1 + noise(rng)));
    const double e =
        i >= intervals - 8 && i % 3 != 0 ? std::round(3 + 10 * std::abs(noise(rng)) * 20) : 0;
    const double five = i >= intervals - 8 ? std::round(n * 0.004) : 0;
    const double f = (slow ? 6 : 1) * (1 + 2 * noise(rng));
    t_s.push_back(i);
    requests.push_back(n + e);
    rps_s.push_back(n + e);
    errors.push_back(e);
    c2xx.push_back(n - five);
    c5xx.push_back(five);
    if (n == 0) {
      for (json* a : {&p50, &p90, &p99, &max}) a->push_back(nullptr);
    } else {
      p50.push_back(shape.quantile(0.5) * f);
      p90.push_back(shape.quantile(0.9) * f);
      p99.push_back(shape.quantile(0.99) * f);
      max.push_back(shape.quantile(0.9999) * f * (1.5 + noise(rng)));
    }
    total += n + e;
    total_errors += e;
    fives += five;
  }
  const double responses = total - total_errors;

  // Log-linear buckets like the stats histogram's (1/128 of a power of two), non-empty only.
  json distribution = json::array();
  for (double lo = 1e-5; lo < 30;) {
    const double width = std::exp2(std::floor(std::log2(lo))) / 128;
    const double hi = lo + width;
    const double count = std::round(responses * (shape.cdf(hi) - shape.cdf(lo)));
    if (count > 0) distribution.push_back({lo, hi, count});
    lo = hi;
  }
  json curve = json::array();
  for (double p :
       {0.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 99.995, 99.999})
    curve.push_back({p, shape.quantile(std::max(p, 0.001) / 100)});
  json latency = {{"fastest", shape.quantile(1e-6)},
                  {"mean", shape.quantile(0.55)},
                  {"slowest", shape.quantile(0.999999)}};
  for (auto [key, p] : std::map<std::string, double>{{"p50", 0.5},
                                                     {"p75", 0.75},
                                                     {"p90", 0.9},
                                                     {"p95", 0.95},
                                                     {"p99", 0.99},
                                                     {"p999", 0.999},
                                                     {"p9999", 0.9999}})
    latency[key] = shape.quantile(p);
  const double duration = intervals + 0.004;
  return {{"label", label},
          {"start_unix_s", start},
          // Pairs, not an object: json::array, or the initializer list would make an object.
          {"config", json::array({json::array({"URL", "http://127.0.0.1:8080/api/items?limit=20"}),
                                  json::array({"Method", "GET"}),
                                  json::array({"Model", "closed, 50 connections"}),
                                  json::array({"Duration", fmt::format("{}s", intervals)}),
                                  json::array({"Timeout", "20s"}), json::array({"Threads", "2"}),
                                  json::array({"HTTP", "1.1, keep-alive"}),
                                  json::array({"Header", "Accept: application/json"})})},
          {"summary",
           {{"requests", total},
            {"successes", responses - fives},
            {"errors", total_errors},
            {"success_ratio", (responses - fives) / total},
            {"rps", total / duration},
            {"duration_s", duration},
            {"bytes", responses * 14},
            {"latency_s", latency}}},
          {"timeline",
           {{"interval_s", 1.0},
            {"t_s", t_s},
            {"requests", requests},
            {"rps", rps_s},
            {"errors", errors},
            {"p50_s", p50},
            {"p90_s", p90},
            {"p99_s", p99},
            {"max_s", max},
            {"status_classes", {{"2xx", c2xx}, {"5xx", c5xx}}},
            {"coarsened", false}}},
          {"distribution", distribution},
          {"percentile_curve", curve},
          {"status_codes", {{"200", responses - fives}, {"503", fives}}},
          {"errors_by_kind",
           {{"timeout", std::round(total_errors * 0.3)},
            {"reset", total_errors - std::round(total_errors * 0.3)}}},
          {"breakdown",
           {{"dns_s", 0.00021},
            {"rows",
             {{{"name", "Connect"},
               {"p50_s", 0.00011},
               {"p90_s", 0.00019},
               {"p99_s", 0.00042},
               {"max_s", 0.0011},
               {"count", 63}},
              {{"name", "TTFB"},
               {"p50_s", shape.quantile(0.5) * 0.9},
               {"p90_s", shape.quantile(0.9) * 0.9},
               {"p99_s", shape.quantile(0.99) * 0.9},
               {"max_s", shape.quantile(0.9999)},
               {"count", responses}}}}}},
          {"thresholds",
           {{{"expression", "p99<250ms"},
             {"pass", latency["p99"] < 0.25},
             {"observed", fmt::format("p99 = {:.1f}ms", latency["p99"].get<double>() * 1e3)}},
            {{"expression", "errors<0.1%"},
             {"pass", total_errors / total < 0.001},
             {"observed", fmt::format("errors = {:.3f}%", 100 * total_errors / total)}}}}};
}

json one_run_model() {
  return {{"title", "GET http://127.0.0.1:8080/api/items?limit=20"},
          {"generated_by", "hit 0.1.0"},
          {"runs", {make_run("this run", 1795000000.123, 30, 8200, {0.0012}, 1)}}};
}

json compare_model() {
  return {{"title", "GET http://127.0.0.1:8080/api/items?limit=20"},
          {"generated_by", "hit 0.1.0"},
          {"runs",
           {make_run("before.json", 1795000000.123, 30, 8200, {0.0012}, 1),
            make_run("after.json", 1795003600.5, 26, 7100, {0.00145, 0.05}, 2)}}};
}

// A run too short for a timeline, with nothing answered: every section says it has no data.
json empty_model() {
  return {{"title", "GET http://127.0.0.1:9/"},
          {"runs",
           {{{"label", "this run"},
             {"start_unix_s", 1795000000.0},
             {"config", json::array({json::array({"URL", "http://127.0.0.1:9/"})})},
             {"summary", {{"requests", 0}, {"successes", 0}, {"errors", 0}}},
             {"timeline", {{"interval_s", 1.0}, {"t_s", json::array()}}},
             {"distribution", json::array()},
             {"percentile_curve", json::array()},
             {"status_codes", json::object()},
             {"errors_by_kind", json::object()},
             {"breakdown", {{"rows", json::array()}}}}}}};
}

// Parts missing, null, of the wrong type or out of range (1e9 requests, a 100th percentile, a
// bucket from 0): the page draws what it can and throws nothing.
json odd_model() {
  return {
      {"runs",
       {{{"summary", {{"requests", 1e9}, {"latency_s", nullptr}}},
         {"timeline", {{"t_s", {0}}, {"rps", {1e9}}, {"errors", {nullptr}}, {"p50_s", {0.001}}}},
         {"distribution", {{0, 0, 5}, {0.001, 0.002, "x"}, {0.002, 0.003, 7}}},
         {"percentile_curve", {{50, 0.001}, {100, 1}}},
         {"config", {{"a", "b"}}},
         {"thresholds", {nullptr, {{"expression", "x"}}}},
         {"status_codes", nullptr},
         {"breakdown", {{"rows", {nullptr, {{"name", "C"}, {"count", 1}}}}}}},
        {{"label", "b"}, {"timeline", {{"t_s", {0, 1}}, {"p50_s", {nullptr, nullptr}}}}}}}};
}

// Strings that would end the model's script element or add markup, if they were not escaped.
json hostile_model() {
  json m = one_run_model();
  const std::string evil = "</script><script>document.body.dataset.pwned=1</script><!--";
  const std::string img = "<img src=x onerror=\"document.body.dataset.pwned=2\">";
  m["title"] = "GET http://h/" + evil;
  auto& run = m["runs"][0];
  run["label"] = img;
  run["config"].push_back({"Header", "X-Note: " + evil + img});
  run["status_codes"][img] = 1;
  run["errors_by_kind"][evil] = 1;
  run["thresholds"].push_back({{"expression", img}, {"pass", false}, {"observed", evil}});
  return m;
}

struct page_result {
  hit::test::result run;
  std::map<std::string, std::string> body;  // data-* attributes of <body>
  std::string dom;
  std::vector<std::string> console;  // Chromium's "CONSOLE" log lines
};

// Renders `model`, loads it in headless Chromium (profile in a temporary directory, removed
// afterwards) and reads the DOM after load.
page_result load_page(const fs::path& dir, const fs::path& page);

page_result load(const std::string& name, const json& model) {
  char tmpl[] = "/tmp/hit_html_XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  const fs::path page = dir / (name + ".html");
  std::ofstream(page) << hit::cli::html_report(model);
  return load_page(dir, page);
}

// Loads `page` (in `dir`, a temporary directory removed afterwards).
page_result load_page(const fs::path& dir, const fs::path& page) {
  if (const char* keep = getenv("HIT_HTML_REPORT_KEEP"))
    fs::copy_file(page, fs::path(keep) / page.filename(), fs::copy_options::overwrite_existing);
  page_result r;
  // Chromium runs as root here: no sandbox. timeout bounds it even if this process dies.
  r.run = hit::test::finish(
      hit::test::spawn({"/usr/bin/timeout", "-k", "5", "60", chromium_path, "--headless=new",
                        "--no-sandbox", "--disable-gpu",
                        "--user-data-dir=" + (dir / "profile").string(), "--enable-logging=stderr",
                        "--v=0", "--dump-dom", "file://" + page.string()}),
      std::chrono::seconds(70), [](auto) {});
  fs::remove_all(dir);
  r.dom = r.run.out;
  // <body ...>'s data-NAME="VALUE" attributes. (Searched by hand: std::regex trips GCC 12's
  // -Wmaybe-uninitialized under the sanitizer build.)
  if (const auto body = r.dom.find("<body"); body != std::string::npos) {
    const std::string attrs = r.dom.substr(body, r.dom.find('>', body) - body);
    for (auto at = attrs.find(" data-"); at != std::string::npos;
         at = attrs.find(" data-", at + 1)) {
      const auto eq = attrs.find("=\"", at);
      const auto close = eq == std::string::npos ? eq : attrs.find('"', eq + 2);
      if (close == std::string::npos) break;
      r.body[attrs.substr(at + 6, eq - at - 6)] = attrs.substr(eq + 2, close - eq - 2);
    }
  }
  std::size_t at = 0;
  while (at < r.run.err.size()) {
    const auto end = r.run.err.find('\n', at);
    const std::string line = r.run.err.substr(at, end == std::string::npos ? end : end - at);
    if (line.find(":CONSOLE") != std::string::npos) r.console.push_back(line);
    at = end == std::string::npos ? r.run.err.size() : end + 1;
  }
  return r;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// Every expected chart made and drawn, nothing reported wrong.
void expect_drawn(const page_result& r, int charts) {
  ASSERT_EQ(r.run.exit_code, 0) << r.run.err;
  EXPECT_EQ(r.body.count("ready"), 1u) << "the page's script did not finish\n" << joined(r.console);
  EXPECT_EQ(r.body.count("errors"), 1u);
  EXPECT_EQ(r.body.count("errors") ? r.body.at("errors") : "?", "");
  EXPECT_TRUE(r.console.empty()) << joined(r.console);
  EXPECT_EQ(r.body.count("charts") ? r.body.at("charts") : "?", std::to_string(charts));
  EXPECT_EQ(r.body.count("drawn") ? r.body.at("drawn") : "?", std::to_string(charts))
      << "blank: " << (r.body.count("blank") ? r.body.at("blank") : "?");
}

class html_chromium : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(chromium_path))
      GTEST_SKIP() << chromium_path << " not installed (scripts/setup)";
  }
};

}  // namespace

// Latency, throughput and errors over time, the histogram and the percentile curve.
TEST_F(html_chromium, one_run_draws_every_chart) {
  const auto r = load("one", one_run_model());
  expect_drawn(r, 5);
  for (const char* id : {"chart-latency", "chart-throughput", "chart-errors", "chart-histogram",
                         "chart-percentiles"})
    EXPECT_NE(r.dom.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  EXPECT_NE(r.dom.find("PASS"), std::string::npos);
  EXPECT_NE(r.dom.find("FAIL"), std::string::npos);
}

TEST_F(html_chromium, two_runs_compared_draw_every_chart) {
  const auto r = load("compare", compare_model());
  expect_drawn(r, 5);
  EXPECT_NE(r.dom.find("class=\"compare\""), std::string::npos);
  EXPECT_NE(r.dom.find("before.json"), std::string::npos);
  EXPECT_NE(r.dom.find("after.json"), std::string::npos);
  EXPECT_NE(r.dom.find("Δ B−A"), std::string::npos);
}

TEST_F(html_chromium, an_empty_run_says_so_instead_of_drawing) {
  const auto r = load("empty", empty_model());
  expect_drawn(r, 0);
  EXPECT_NE(r.dom.find("no timeline"), std::string::npos);
  EXPECT_NE(r.dom.find("no latencies to show"), std::string::npos);
  EXPECT_NE(r.dom.find("No responses: no status codes."), std::string::npos);
  EXPECT_EQ(r.dom.find("id=\"thresholds\""), std::string::npos) << "no thresholds, no section";
}

TEST_F(html_chromium, odd_parts_draw_what_they_can) {
  // Run A: latency and throughput over time (one interval: dots), histogram, percentiles. Run
  // B has no value to draw.
  expect_drawn(load("odd", odd_model()), 4);
  expect_drawn(load("bare", {{"runs", {json::object(), json::object()}}}), 0);
}

TEST_F(html_chromium, strings_from_the_model_are_text_not_markup) {
  const auto r = load("hostile", hostile_model());
  expect_drawn(r, 5);
  EXPECT_EQ(r.body.count("pwned"), 0u);
  EXPECT_EQ(r.dom.find("<img"), std::string::npos);
  EXPECT_NE(r.dom.find("&lt;img src=x"), std::string::npos) << "shown as text";
}

// Pages hit itself writes from real runs against hit serve: --html on a run, and hit report -o
// html on two saved runs compared (the second's requests all reset: errors, no latencies).
TEST_F(html_chromium, pages_from_real_runs_draw_every_chart) {
  char tmpl[] = "/tmp/hit_html_real_XXXXXX";
  const fs::path dir = mkdtemp(tmpl);
  hit::test::server s;
  const auto a =
      hit::test::run_hit({"-z", "2500ms", "-c", "4", "--html", (dir / "run.html").string(),
                          "--save", (dir / "a.json").string(), s.url()},
                         std::chrono::seconds(30));
  ASSERT_EQ(a.exit_code, 0) << a.err;
  const auto b = hit::test::run_hit(
      {"-z", "1500ms", "-c", "2", "--save", (dir / "b.json").string(), s.url("?reset=1")},
      std::chrono::seconds(30));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const auto c = hit::test::run_hit({"report", "--compare", "-o", "html", "--out",
                                     (dir / "compare.html").string(), (dir / "a.json").string(),
                                     (dir / "b.json").string()});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  // load_page removes its directory: one page per directory.
  char tmpl2[] = "/tmp/hit_html_real_XXXXXX";
  const fs::path dir2 = mkdtemp(tmpl2);
  fs::copy_file(dir / "compare.html", dir2 / "compare.html");
  const auto run = load_page(dir, dir / "run.html");
  expect_drawn(run, 4);  // no errors: the errors chart is a sentence
  EXPECT_NE(run.dom.find("this run"), std::string::npos);
  const auto compare = load_page(dir2, dir2 / "compare.html");
  expect_drawn(compare, 5);
  EXPECT_NE(compare.dom.find("b.json"), std::string::npos);
}

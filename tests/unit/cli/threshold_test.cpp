#include "threshold.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using hit::cli::comparison;
using hit::cli::parse_threshold;
using hit::cli::threshold;
using hit::cli::threshold_metric;
using hit::cli::threshold_unit;
using hit::stats::error_kind;

namespace {

threshold parsed(std::string_view expr) {
  auto t = parse_threshold(expr);
  EXPECT_TRUE(t.ok()) << expr << ": " << (t.ok() ? "" : t.error());
  return t.ok() ? *t : threshold{};
}

// The message parse_threshold refuses `expr` with ("" when it accepts it).
std::string refusal(std::string_view expr) {
  auto t = parse_threshold(expr);
  return t.ok() ? std::string() : t.error();
}

#define EXPECT_REFUSED(expr, says)                                                         \
  do {                                                                                     \
    const std::string m = refusal(expr);                                                   \
    EXPECT_NE(m.find(says), std::string::npos) << (expr) << " -> '" << m << "'";           \
    EXPECT_NE(m.find(std::string("threshold '")), std::string::npos) << "names it: " << m; \
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;                       \
  } while (false)

// n responses with `status` and latency `d`.
void responses(hit::stats::summary& s, std::uint64_t n, unsigned status,
               std::chrono::nanoseconds d = 1ms) {
  for (std::uint64_t i = 0; i < n; ++i) s.record_response(status, 10, d, d);
}

bool passes(std::string_view expr, const hit::stats::summary& s) {
  return hit::cli::evaluate(parsed(expr), s).pass;
}

}  // namespace

// ---- parsing ------------------------------------------------------------------------------

TEST(threshold_parse, latency_metrics) {
  auto t = parsed("p99<250ms");
  EXPECT_EQ(t.kind, threshold_metric::latency_percentile);
  EXPECT_EQ(t.unit, threshold_unit::nanoseconds);
  EXPECT_EQ(t.percentile, 99);
  EXPECT_EQ(t.metric, "p99");
  EXPECT_EQ(t.limit, 250e6);
  EXPECT_EQ(t.op, comparison::lt);
  EXPECT_EQ(t.expression, "p99<250ms");
  EXPECT_EQ(parsed("p50<1s").percentile, 50);
  EXPECT_EQ(parsed("p99.9<1s").percentile, 99.9);
  EXPECT_EQ(parsed("p99.99 < 1s").metric, "p99.99");
  EXPECT_EQ(parsed("p99.90<1s").metric, "p99.9") << "one canonical name";
  EXPECT_EQ(parsed("p0.1<1s").percentile, 0.1);
  EXPECT_EQ(parsed("p50<1.5s").limit, 1.5e9);
  EXPECT_EQ(parsed("p50<500us").limit, 500e3);
  EXPECT_EQ(parsed("p50<1m30s").limit, 90e9);
  EXPECT_EQ(parsed("mean<50ms").kind, threshold_metric::latency_mean);
  EXPECT_EQ(parsed("min<1ms").kind, threshold_metric::latency_min);
  EXPECT_EQ(parsed("max<2s").kind, threshold_metric::latency_max);
}

TEST(threshold_parse, counts_and_ratios) {
  auto count = parsed("errors<10");
  EXPECT_EQ(count.kind, threshold_metric::errors);
  EXPECT_EQ(count.unit, threshold_unit::count);
  EXPECT_EQ(count.limit, 10);
  auto ratio = parsed("errors<0.1%");
  EXPECT_EQ(ratio.unit, threshold_unit::percent);
  EXPECT_EQ(ratio.limit, 0.1) << "kept in percent, as typed";
  EXPECT_EQ(parsed("errors==0").op, comparison::eq);
  auto success = parsed("success>=99.9%");
  EXPECT_EQ(success.kind, threshold_metric::success);
  EXPECT_EQ(success.unit, threshold_unit::percent);
  EXPECT_EQ(success.limit, 99.9);
  auto rps = parsed("rps>=1e9");
  EXPECT_EQ(rps.kind, threshold_metric::rps);
  EXPECT_EQ(rps.unit, threshold_unit::per_second);
  EXPECT_EQ(rps.limit, 1e9);
  EXPECT_EQ(parsed("rps>1000.5").limit, 1000.5);
  auto cls = parsed("status_5xx==0");
  EXPECT_EQ(cls.kind, threshold_metric::status_class);
  EXPECT_EQ(cls.status, 5u);
  EXPECT_EQ(cls.unit, threshold_unit::count);
  EXPECT_EQ(parsed("status_4xx<1%").unit, threshold_unit::percent);
  auto code = parsed("status_404<5");
  EXPECT_EQ(code.kind, threshold_metric::status_code);
  EXPECT_EQ(code.status, 404u);
  EXPECT_EQ(parsed("status_100==0").status, 100u);
  EXPECT_EQ(parsed("status_599==0").status, 599u);
  auto kind = parsed("errors.timeout<10");
  EXPECT_EQ(kind.kind, threshold_metric::error_kind);
  EXPECT_EQ(kind.error, error_kind::timeout);
  EXPECT_EQ(kind.metric, "errors.timeout");
  EXPECT_EQ(parsed("errors.refused<1%").unit, threshold_unit::percent);
  for (std::size_t k = 0; k < hit::stats::error_kind_count; ++k) {
    const auto name = std::string(hit::stats::name(static_cast<error_kind>(k)));
    EXPECT_EQ(parsed("errors." + name + "==0").error, static_cast<error_kind>(k)) << name;
  }
}

TEST(threshold_parse, every_operator) {
  EXPECT_EQ(parsed("errors<1").op, comparison::lt);
  EXPECT_EQ(parsed("errors<=1").op, comparison::le);
  EXPECT_EQ(parsed("errors>1").op, comparison::gt);
  EXPECT_EQ(parsed("errors>=1").op, comparison::ge);
  EXPECT_EQ(parsed("errors==1").op, comparison::eq);
  EXPECT_EQ(parsed("errors!=1").op, comparison::ne);
  for (auto op : {comparison::lt, comparison::le, comparison::gt, comparison::ge, comparison::eq,
                  comparison::ne}) {
    const auto t = parsed("p99" + std::string(hit::cli::symbol(op)) + "1s");
    EXPECT_EQ(t.op, op);
    EXPECT_EQ(t.limit, 1e9);
  }
}

TEST(threshold_parse, spaces_are_optional) {
  for (const char* e :
       {"p99<250ms", "p99 < 250ms", "  p99<  250ms ", "p99\t<=\t250ms", "p99 <=250ms"}) {
    const auto t = parsed(e);
    EXPECT_EQ(t.metric, "p99") << e;
    EXPECT_EQ(t.limit, 250e6) << e;
  }
  EXPECT_EQ(parsed("errors < 0.1 %").limit, 0.1);
  EXPECT_EQ(parsed(" p99 < 250ms").expression, " p99 < 250ms") << "kept as typed";
}

TEST(threshold_parse, refuses_unknown_metrics_with_the_list) {
  EXPECT_REFUSED("latency<1s", "unknown metric 'latency'");
  EXPECT_REFUSED("latency<1s", "p<N>");
  EXPECT_REFUSED("latency<1s", "status_<N>xx");
  EXPECT_REFUSED("P99<1s", "unknown metric");
  EXPECT_REFUSED("errors.slow<1", "unknown error kind 'slow'");
  EXPECT_REFUSED("errors.slow<1", "connect_timeout");
  EXPECT_REFUSED("status_6xx==0", "bad status metric");
  EXPECT_REFUSED("status_600==0", "bad status metric");
  EXPECT_REFUSED("status_99==0", "bad status metric");
  EXPECT_REFUSED("status_5XX==0", "bad status metric");
  EXPECT_REFUSED("p100<1s", "out of range");
  EXPECT_REFUSED("p0<1s", "out of range");
  EXPECT_REFUSED("p99.<1s", "bad percentile");
  EXPECT_REFUSED("p9x<1s", "bad percentile");
}

TEST(threshold_parse, refuses_bad_operators_and_missing_parts) {
  EXPECT_REFUSED("", "empty");
  EXPECT_REFUSED("   ", "empty");
  EXPECT_REFUSED("p99 250ms", "no comparison");
  EXPECT_REFUSED("p99=250ms", "use ==");
  EXPECT_REFUSED("p99!250ms", "use !=");
  EXPECT_REFUSED("<250ms", "no metric before '<'");
  EXPECT_REFUSED("p99<", "no value after '<'");
  EXPECT_REFUSED("p99<=  ", "no value after '<='");
  EXPECT_REFUSED("p99<<250ms", "p99 is a latency");
}

TEST(threshold_parse, refuses_values_that_do_not_fit_the_metric) {
  EXPECT_REFUSED("p99<250", "'250' needs a unit (ns, us, ms, s, m, h)");
  EXPECT_REFUSED("p99<1.5", "needs a unit");
  EXPECT_REFUSED("mean<0", "needs a unit");
  EXPECT_REFUSED("p99<5%", "not a percentage");
  EXPECT_REFUSED("p99<fast", "got 'fast'");
  EXPECT_REFUSED("p99<-1s", "got '-1s'");
  EXPECT_REFUSED("errors<10ms", "errors is a count");
  EXPECT_REFUSED("errors<1.5", "use a whole number");
  EXPECT_REFUSED("errors<-1", "errors is a count");
  EXPECT_REFUSED("errors<abc", "errors is a count");
  EXPECT_REFUSED("errors<150%", "from 0% to 100%");
  EXPECT_REFUSED("errors<-1%", "from 0% to 100%");
  EXPECT_REFUSED("errors<x%", "from 0% to 100%");
  EXPECT_REFUSED("errors<1%%", "from 0% to 100%");
  EXPECT_REFUSED("success>=0.999", "success is a ratio: give a percentage");
  EXPECT_REFUSED("success>=99", "give a percentage");
  EXPECT_REFUSED("rps>=10%", "plain number");
  EXPECT_REFUSED("rps>=10/s", "plain number");
  EXPECT_REFUSED("rps>=inf", "plain number");
  EXPECT_REFUSED("rps>=nan", "plain number");
  EXPECT_REFUSED("status_5xx<1s", "status_5xx is a count");
  EXPECT_REFUSED("errors.timeout<2.5", "errors.timeout is a count");
}

TEST(threshold_parse, messages_quote_what_was_typed_safely) {
  const std::string m = refusal("p99\n<1s");
  EXPECT_NE(m.find("threshold 'p99\\n<1s'"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

// ---- evaluation ---------------------------------------------------------------------------

TEST(threshold_evaluate, latency_from_the_summary) {
  hit::stats::summary s;
  for (int i = 1; i <= 100; ++i) responses(s, 1, 200, std::chrono::milliseconds(i));
  const auto r = hit::cli::evaluate(parsed("p50<60ms"), s);
  EXPECT_TRUE(r.pass);
  ASSERT_TRUE(r.value);
  EXPECT_NEAR(*r.value, 50e6, 50e6 * 0.01);
  EXPECT_EQ(r.observed.rfind("p50 = ", 0), 0u) << r.observed;
  EXPECT_EQ(r.observed.substr(r.observed.size() - 2), "ms") << r.observed;
  EXPECT_FALSE(passes("p50<40ms", s));
  EXPECT_TRUE(passes("max<=100ms", s));
  EXPECT_FALSE(passes("max<100ms", s)) << "the slowest is exact";
  EXPECT_TRUE(passes("min>=1ms", s));
  EXPECT_FALSE(passes("min>1ms", s));
  EXPECT_TRUE(passes("mean==50500us", s)) << "mean of 1..100 ms";
  EXPECT_FALSE(passes("p99.9<1ns", s));
}

TEST(threshold_evaluate, latency_uses_the_intended_start) {
  hit::stats::summary s;
  // A request scheduled 1 s before it could be sent: 1 s from its intended start, 1 ms of service.
  s.record_response(200, 10, 1s, 1ms);
  EXPECT_FALSE(passes("max<500ms", s));
}

TEST(threshold_evaluate, equality_is_the_boundary) {
  hit::stats::summary s;
  responses(s, 999, 200);
  responses(s, 1, 503);
  EXPECT_TRUE(passes("success>=99.9%", s)) << "999 of 1000 is exactly 99.9%";
  EXPECT_FALSE(passes("success>99.9%", s));
  EXPECT_TRUE(passes("success==99.9%", s));
  EXPECT_FALSE(passes("success!=99.9%", s));
  EXPECT_TRUE(passes("status_5xx<=0.1%", s));
  EXPECT_FALSE(passes("status_5xx<0.1%", s));
  EXPECT_TRUE(passes("status_5xx<=1", s));
  EXPECT_FALSE(passes("status_5xx<1", s));
  EXPECT_TRUE(passes("status_503==1", s));
  EXPECT_TRUE(passes("status_500==0", s));
  EXPECT_TRUE(passes("status_2xx>=999", s));
  EXPECT_FALSE(passes("status_2xx>999", s));
  // 7 of 100 is 7%, though 0.07 * 100 is not 7 in binary floating point.
  hit::stats::summary seven;
  responses(seven, 93, 200);
  for (int i = 0; i < 7; ++i) seven.record_error(error_kind::reset);
  EXPECT_TRUE(passes("errors<=7%", seven));
  EXPECT_FALSE(passes("errors<7%", seven));
  EXPECT_TRUE(passes("errors==7%", seven));
  // Latency at exactly the limit: recorded values below 256 ns are exact.
  hit::stats::summary l;
  responses(l, 3, 200, 200ns);
  EXPECT_TRUE(passes("p50<=200ns", l));
  EXPECT_FALSE(passes("p50<200ns", l));
  EXPECT_TRUE(passes("max>=200ns", l));
  EXPECT_FALSE(passes("max>200ns", l));
}

TEST(threshold_evaluate, errors_count_and_ratio) {
  hit::stats::summary s;
  responses(s, 195, 200);
  for (int i = 0; i < 3; ++i) s.record_error(error_kind::timeout);
  for (int i = 0; i < 2; ++i) s.record_error(error_kind::refused);
  const auto count = hit::cli::evaluate(parsed("errors<5"), s);
  EXPECT_FALSE(count.pass);
  EXPECT_EQ(count.observed, "errors = 5");
  EXPECT_TRUE(passes("errors<=5", s));
  const auto ratio = hit::cli::evaluate(parsed("errors<3%"), s);
  EXPECT_TRUE(ratio.pass);
  EXPECT_EQ(ratio.observed, "errors = 2.5% (5 of 200)");
  EXPECT_FALSE(passes("errors<2.5%", s));
  EXPECT_TRUE(passes("errors.timeout==3", s));
  EXPECT_TRUE(passes("errors.refused==1%", s));
  EXPECT_TRUE(passes("errors.tls==0", s));
  EXPECT_TRUE(passes("success==97.5%", s));
}

TEST(threshold_evaluate, rps) {
  hit::stats::summary s;
  responses(s, 100, 200);
  s.elapsed = 2s;
  const auto r = hit::cli::evaluate(parsed("rps>=50"), s);
  EXPECT_TRUE(r.pass);
  EXPECT_EQ(r.observed, "rps = 50.0");
  EXPECT_FALSE(passes("rps>50", s));
  EXPECT_FALSE(passes("rps>=1e9", s));
}

TEST(threshold_evaluate, ratios_of_no_requests_fail) {
  const hit::stats::summary none;
  for (const char* e : {"errors<1%", "success>=0%", "status_5xx<=100%", "errors.timeout==0%"}) {
    const auto r = hit::cli::evaluate(parsed(e), none);
    EXPECT_FALSE(r.pass) << e;
    EXPECT_FALSE(r.value) << e;
    EXPECT_NE(r.observed.find("no requests"), std::string::npos) << r.observed;
  }
  const auto lat = hit::cli::evaluate(parsed("p99<1h"), none);
  EXPECT_FALSE(lat.pass) << "no latency is not a fast latency";
  EXPECT_NE(lat.observed.find("no responses"), std::string::npos) << lat.observed;
  EXPECT_TRUE(passes("errors==0", none)) << "a count of nothing is 0";
  // Every request failed: no latency either.
  hit::stats::summary errors_only;
  errors_only.record_error(error_kind::reset);
  EXPECT_FALSE(passes("p50<1h", errors_only));
}

TEST(threshold_report, table_and_json) {
  hit::stats::summary s;
  responses(s, 99, 200, 100ns);  // exact: below 256 ns the histogram keeps every value
  s.record_error(error_kind::timeout);
  s.elapsed = 1s;
  auto results = hit::cli::evaluate({parsed("p99 < 250ms"), parsed("errors<0.5%")}, s);
  EXPECT_FALSE(hit::cli::all_pass(results));
  const auto table = hit::cli::threshold_table(results);
  EXPECT_EQ(table.rfind("Thresholds:\n", 0), 0u) << table;
  EXPECT_NE(table.find("  PASS  p99 < 250ms  p99 = 100ns\n"), std::string::npos) << table;
  EXPECT_NE(table.find("  FAIL  errors<0.5%  errors = 1% (1 of 100)\n"), std::string::npos)
      << table;
  const auto j = hit::cli::thresholds_json(results);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["expression"], "p99 < 250ms");
  EXPECT_EQ(j[0]["metric"], "p99");
  EXPECT_EQ(j[0]["op"], "<");
  EXPECT_EQ(j[0]["unit"], "s");
  EXPECT_DOUBLE_EQ(j[0]["limit"].get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(j[0]["value"].get<double>(), 100e-9);
  EXPECT_EQ(j[0]["pass"], true);
  EXPECT_EQ(j[1]["unit"], "ratio");
  EXPECT_DOUBLE_EQ(j[1]["limit"].get<double>(), 0.005);
  EXPECT_DOUBLE_EQ(j[1]["value"].get<double>(), 0.01);
  EXPECT_EQ(j[1]["pass"], false);
  EXPECT_EQ(j[1]["stopped_run"], false);
  // The one that stopped a run fails, and says so.
  results[0].stopped_run = true;
  EXPECT_NE(hit::cli::threshold_table(results).find("FAIL  p99 < 250ms"), std::string::npos);
  EXPECT_EQ(hit::cli::thresholds_json(results)[0]["pass"], false);
  EXPECT_EQ(hit::cli::thresholds_json(results)[0]["stopped_run"], true);
  // Undefined values are null.
  const auto none = hit::cli::thresholds_json(
      hit::cli::evaluate(std::vector<threshold>{parsed("success>=1%")}, hit::stats::summary{}));
  EXPECT_TRUE(none[0]["value"].is_null());
  EXPECT_EQ(hit::cli::thresholds_json({}), nlohmann::json::array());
  EXPECT_EQ(hit::cli::threshold_table({}), "");
}

// ---- already lost -------------------------------------------------------------------------

namespace {

struct counts {
  std::uint64_t ok = 0;  // 2xx
  std::uint64_t s4 = 0;  // 4xx
  std::uint64_t s5 = 0;  // 5xx
  std::uint64_t timeouts = 0;
};

hit::http::progress progress_of(counts c) {
  hit::http::progress p;
  p.status_classes[2] = c.ok;
  p.status_classes[4] = c.s4;
  p.status_classes[5] = c.s5;
  p.errors_by_kind[static_cast<std::size_t>(error_kind::timeout)] = c.timeouts;
  p.done = c.ok + c.s4 + c.s5 + c.timeouts;
  p.errors = c.timeouts;
  return p;
}

bool lost(std::string_view expr, counts c, std::optional<std::uint64_t> total) {
  return hit::cli::already_lost(parsed(expr), progress_of(c), total);
}

}  // namespace

TEST(threshold_lost, counts_that_only_grow_are_lost_once_over) {
  EXPECT_FALSE(lost("status_5xx==0", {.ok = 50}, std::nullopt));
  EXPECT_TRUE(lost("status_5xx==0", {.ok = 50, .s5 = 1}, std::nullopt));
  EXPECT_TRUE(lost("status_5xx==0", {.s5 = 1}, 1000)) << "at once, whatever the total";
  EXPECT_FALSE(lost("errors<10", {.timeouts = 9}, std::nullopt));
  EXPECT_TRUE(lost("errors<10", {.timeouts = 10}, std::nullopt));
  EXPECT_FALSE(lost("errors<=10", {.timeouts = 10}, std::nullopt));
  EXPECT_TRUE(lost("errors.timeout<=10", {.timeouts = 11}, std::nullopt));
  EXPECT_FALSE(lost("errors.refused<=10", {.timeouts = 11}, std::nullopt));
  // A count that must be reached is lost only when too few requests remain.
  EXPECT_FALSE(lost("errors>10", {.ok = 1000}, std::nullopt)) << "time may still bring them";
  EXPECT_FALSE(lost("errors>10", {.ok = 89}, 100)) << "11 left: all may fail";
  EXPECT_TRUE(lost("errors>10", {.ok = 90}, 100)) << "10 left cannot make 11";
  EXPECT_TRUE(lost("errors==5", {.ok = 96}, 100));
  EXPECT_FALSE(lost("errors==5", {.ok = 95}, 100));
  EXPECT_TRUE(lost("errors!=0", {.ok = 100}, 100));
  EXPECT_FALSE(lost("errors!=0", {.ok = 99}, 100));
}

TEST(threshold_lost, ratios_with_a_known_total_are_bounded) {
  // success>=99%: of 1000, at most 10 may fail.
  EXPECT_FALSE(lost("success>=99%", {.ok = 0, .s5 = 10}, 1000)) << "990 successes still possible";
  EXPECT_TRUE(lost("success>=99%", {.ok = 0, .s5 = 11}, 1000));
  EXPECT_FALSE(lost("success>=99%", {.ok = 989, .s5 = 10}, 1000)) << "exactly 99% is a pass";
  // errors<1%: lost once 10 of 1000 failed, even if every other request succeeds.
  EXPECT_FALSE(lost("errors<1%", {.timeouts = 9}, 1000));
  EXPECT_TRUE(lost("errors<1%", {.timeouts = 10}, 1000));
  EXPECT_TRUE(lost("errors<=1%", {.timeouts = 11}, 1000));
  EXPECT_FALSE(lost("errors<=1%", {.timeouts = 10}, 1000));
  // A ratio that must be reached: lost when even all-failing remaining requests cannot.
  EXPECT_FALSE(lost("status_4xx>=50%", {.ok = 500}, 1000));
  EXPECT_TRUE(lost("status_4xx>=50%", {.ok = 501}, 1000));
  EXPECT_FALSE(lost("success>=99%", {}, 1000)) << "nothing known yet";
}

TEST(threshold_lost, ratios_without_a_total_wait_for_100_requests) {
  EXPECT_FALSE(lost("success>=99%", {.s5 = 99}, std::nullopt)) << "99 requests: too few to judge";
  EXPECT_TRUE(lost("success>=99%", {.s5 = 100}, std::nullopt));
  EXPECT_FALSE(lost("success>=99%", {.ok = 99, .s5 = 1}, std::nullopt));
  EXPECT_TRUE(lost("success>=99%", {.ok = 98, .s5 = 2}, std::nullopt));
  EXPECT_TRUE(lost("errors<1%", {.ok = 99, .timeouts = 1}, std::nullopt));
  EXPECT_FALSE(lost("errors<=1%", {.ok = 99, .timeouts = 1}, std::nullopt));
  EXPECT_TRUE(lost("status_5xx<10%", {.ok = 90, .s5 = 10}, std::nullopt));
}

TEST(threshold_lost, uses_the_outcome_counts_not_done) {
  // `done` runs ahead of the outcome counts (published per request vs per sweep): the bound
  // must come from the counts' own total, or 10 fresh successes would read as failures.
  auto p = progress_of({.ok = 0, .s5 = 10});
  p.done = 30;
  EXPECT_FALSE(hit::cli::already_lost(parsed("success>=99%"), p, 1000));
}

TEST(threshold_lost, latency_rps_and_single_statuses_never_abort) {
  const counts bad{.s5 = 10000};
  for (const char* e : {"p99<1ns", "mean<1ns", "max<1ns", "rps>=1e9", "status_503==0"}) {
    EXPECT_FALSE(hit::cli::watched_during_run(parsed(e))) << e;
    EXPECT_FALSE(lost(e, bad, std::nullopt)) << e;
    EXPECT_FALSE(lost(e, bad, 20000)) << e;
  }
  for (const char* e : {"errors<1", "errors.timeout<1", "success>=1%", "status_5xx==0"})
    EXPECT_TRUE(hit::cli::watched_during_run(parsed(e))) << e;
}

#include "results_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <utility>

#include "hit/printable.hpp"
#include "hit/stats/duration.hpp"
#include "hit/version.hpp"

namespace hit::cli {
namespace {

using nlohmann::json;
using std::chrono::nanoseconds;

// A problem found while reading: the message names the field ("summary.requests: ...").
struct format_error {
  std::string message;
};

// Bounds on what a file may say, so that a corrupt one cannot make a report lay out billions of
// rows, or overflow arithmetic on times: a run's length in intervals (11 days at 1 s; a week
// at 1 s is 604800), its length, an interval, a start (wall clock, 1970 to 2116), and counts
// (2^40 requests: a million a second for twelve days; 256 such files still merge without
// overflowing a sparse histogram's 48-bit counts).
constexpr std::int64_t max_intervals = 1'000'000;
constexpr std::int64_t max_elapsed_ns = std::int64_t{10} * 366 * 86400 * 1'000'000'000;
constexpr std::int64_t max_interval_ns = std::int64_t{1} << 50;
constexpr std::int64_t max_start_ns = std::int64_t{1} << 62;
constexpr std::uint64_t max_requests = std::uint64_t{1} << 40;

[[noreturn]] void fail(const std::string& where, const std::string& what) {
  throw format_error{where + ": " + what};
}

const json& field(const json& j, const char* key, const std::string& where) {
  if (!j.is_object()) fail(where, "expected an object");
  const auto it = j.find(key);
  if (it == j.end()) fail(where + "." + key, "missing");
  return *it;
}

// j[key] as a T when `is` says it is one; otherwise a format_error naming the field.
template <typename T>
T value(const json& j, const char* key, const std::string& where, bool (json::*is)() const noexcept,
        const char* expected) {
  const auto& v = field(j, key, where);
  if (!(v.*is)()) fail(where + "." + key, std::string("expected ") + expected);
  return v.get<T>();
}

std::uint64_t u64(const json& j, const char* key, const std::string& where) {
  return value<std::uint64_t>(j, key, where, &json::is_number_unsigned, "a non-negative integer");
}
std::int64_t i64(const json& j, const char* key, const std::string& where) {
  return value<std::int64_t>(j, key, where, &json::is_number_integer, "an integer");
}
std::string text(const json& j, const char* key, const std::string& where) {
  return value<std::string>(j, key, where, &json::is_string, "a string");
}
bool boolean(const json& j, const char* key, const std::string& where) {
  return value<bool>(j, key, where, &json::is_boolean, "true or false");
}
double number(const json& j, const char* key, const std::string& where) {
  const auto v = value<double>(j, key, where, &json::is_number, "a number");
  if (!std::isfinite(v)) fail(where + "." + key, "expected a finite number");
  return v;
}

unsigned small(const json& j, const char* key, const std::string& where) {
  const auto v = u64(j, key, where);
  if (v > std::numeric_limits<unsigned>::max()) fail(where + "." + key, "out of range");
  return static_cast<unsigned>(v);
}

// Histograms: totals, and the non-empty buckets as a flat array of (index delta, count) pairs:
// the first index is absolute, each next one the difference from the one before.
json histogram_json(const stats::sparse_histogram& h) {
  const auto& t = h.totals();
  json buckets = json::array();
  std::size_t last = 0;
  for (std::size_t k = 0; k < h.size(); ++k) {
    buckets.push_back(h.index(k) - last);
    buckets.push_back(h.count(k));
    last = h.index(k);
  }
  return {{"count", t.count}, {"sum", t.sum},         {"min", t.min},
          {"max", t.max},     {"clamped", t.clamped}, {"buckets", std::move(buckets)}};
}

// A histogram's totals and its buckets' (index, count) pairs, read and range-checked against a
// layout of `bucket_count` buckets (the full histogram's, or a target's coarse one).
template <class Totals>
std::pair<Totals, std::vector<std::pair<std::size_t, std::uint64_t>>> read_buckets(
    const json& j, const std::string& where, std::size_t bucket_count) {
  const Totals t{u64(j, "count", where), u64(j, "sum", where), u64(j, "min", where),
                 u64(j, "max", where), u64(j, "clamped", where)};
  const auto& b = field(j, "buckets", where);
  if (!b.is_array() || b.size() % 2 != 0)
    fail(where + ".buckets", "expected an array of (index step, count) pairs");
  std::vector<std::pair<std::size_t, std::uint64_t>> pairs;
  pairs.reserve(b.size() / 2);
  std::uint64_t index = 0;
  for (std::size_t k = 0; k < b.size(); k += 2) {
    if (!b[k].is_number_unsigned() || !b[k + 1].is_number_unsigned())
      fail(where + ".buckets", "expected non-negative integers");
    const auto step = b[k].get<std::uint64_t>();
    if (step > bucket_count) fail(where + ".buckets", "index out of range");
    index += step;
    pairs.emplace_back(static_cast<std::size_t>(index), b[k + 1].get<std::uint64_t>());
  }
  return {t, std::move(pairs)};
}

stats::sparse_histogram read_histogram(const json& j, const std::string& where) {
  const auto [t, pairs] =
      read_buckets<stats::histogram::totals>(j, where, stats::histogram::bucket_count);
  auto h = stats::sparse_histogram::restore(pairs, t);
  if (!h) fail(where, "buckets and totals disagree");
  return std::move(*h);
}

stats::histogram read_dense(const json& j, const char* key, const std::string& where) {
  return read_histogram(field(j, key, where), where + "." + key).dense();
}

json error_kinds_json(const std::array<std::uint64_t, stats::error_kind_count>& counts) {
  json j = json::object();
  for (std::size_t k = 0; k < counts.size(); ++k)
    if (counts[k]) j[std::string(stats::name(static_cast<stats::error_kind>(k)))] = counts[k];
  return j;
}

void read_error_kinds(const json& j, const std::string& where,
                      std::array<std::uint64_t, stats::error_kind_count>& out) {
  if (!j.is_object()) fail(where, "expected an object");
  for (const auto& [key, value] : j.items()) {
    std::size_t k = 0;
    while (k < stats::error_kind_count && stats::name(static_cast<stats::error_kind>(k)) != key)
      ++k;
    if (k == stats::error_kind_count) fail(where, "unknown error kind '" + printable(key) + "'");
    if (!value.is_number_unsigned()) fail(where + "." + key, "expected a non-negative integer");
    out[k] = value.get<std::uint64_t>();
  }
}

// A target's coarse histogram, as histogram_json writes a full one.
json coarse_json(const stats::coarse_histogram& h) {
  const auto t = h.summary_totals();
  json buckets = json::array();
  std::size_t last = 0;
  for (std::size_t i = 0; i < stats::coarse_histogram::bucket_count; ++i) {
    if (h.count_at_index(i) == 0) continue;
    buckets.push_back(i - last);
    buckets.push_back(h.count_at_index(i));
    last = i;
  }
  return {{"count", t.count}, {"sum", t.sum},         {"min", t.min},
          {"max", t.max},     {"clamped", t.clamped}, {"buckets", std::move(buckets)}};
}

stats::coarse_histogram read_coarse(const json& j, const std::string& where) {
  const auto [t, pairs] = read_buckets<stats::coarse_histogram::totals>(
      j, where, stats::coarse_histogram::bucket_count);
  auto h = stats::coarse_histogram::restore(pairs, t);
  if (!h) fail(where, "buckets and totals disagree");
  return std::move(*h);
}

// --targets: the breakdown by target, one object per name.
json by_target_json(const run_record& r) {
  json all = json::array();
  for (std::size_t i = 0; i < r.target_names.size() && i < r.summary.by_target.size(); ++i) {
    const auto& t = r.summary.by_target[i];
    json codes = json::array();
    for (const auto& [code, n] : t.codes)
      if (n != 0) codes.push_back({code, n});
    all.push_back({{"name", r.target_names[i]},
                   {"requests", t.requests},
                   {"successes", t.successes},
                   {"errors", t.errors},
                   {"status_codes", std::move(codes)},
                   {"other_codes", t.other_codes},
                   {"errors_by_kind", error_kinds_json(t.error_counts)},
                   {"latency", coarse_json(t.latency)}});
  }
  return all;
}

void read_by_target(const json& j, run_record& r) {
  const std::string w = "by_target";
  if (!j.is_array()) fail(w, "expected an array");
  if (j.size() > 1001) fail(w, "more than 1001 targets");
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string wi = w + "[" + std::to_string(i) + "]";
    const auto& x = j[i];
    stats::target_stats t;
    t.requests = u64(x, "requests", wi);
    t.successes = u64(x, "successes", wi);
    t.errors = u64(x, "errors", wi);
    const auto& codes = field(x, "status_codes", wi);
    if (!codes.is_array() || codes.size() > t.codes.size())
      fail(wi + ".status_codes", "expected at most 8 (code, count) pairs");
    std::uint64_t responses = 0;
    for (std::size_t k = 0; k < codes.size(); ++k) {
      const auto& c = codes[k];
      if (!c.is_array() || c.size() != 2 || !c[0].is_number_unsigned() ||
          !c[1].is_number_unsigned() || c[0].get<std::uint64_t>() > 999 || c[1] == 0)
        fail(wi + ".status_codes", "expected (code, count) pairs");
      t.codes[k] = {static_cast<std::uint16_t>(c[0].get<std::uint64_t>()),
                    c[1].get<std::uint64_t>()};
      t.status_classes[stats::status_class(t.codes[k].first)] += t.codes[k].second;
      responses += t.codes[k].second;
    }
    t.other_codes = u64(x, "other_codes", wi);
    read_error_kinds(field(x, "errors_by_kind", wi), wi + ".errors_by_kind", t.error_counts);
    std::uint64_t errors = 0;
    for (const auto n : t.error_counts) errors += n;
    t.latency = read_coarse(field(x, "latency", wi), wi + ".latency");
    if (errors != t.errors || responses + t.other_codes + t.errors != t.requests ||
        t.successes > responses + t.other_codes || t.latency.count() != t.requests - t.errors)
      fail(wi, "counts that do not add up");
    r.target_names.push_back(text(x, "name", wi));
    r.summary.by_target.push_back(std::move(t));
  }
}

const char* http_name(http::http_version v) {
  switch (v) {
    case http::http_version::http1_1:
      return "1.1";
    case http::http_version::http2:
      return "2";
    case http::http_version::negotiate:
      return "auto";
  }
  return "1.1";
}

json config_json(const run_record& r) {
  const auto& o = r.options;
  json j = {{"method", o.request.method},
            {"url", o.url_text},
            {"model", o.open_model ? "open" : "closed"},
            {"concurrency", o.concurrency},
            {"threads", o.threads},
            {"rps", o.rps},
            {"schedule_option", o.schedule_option},
            {"schedule", o.schedule_text},
            {"scheduled_rps", r.scheduled_rate},
            {"workers", o.workers},
            {"max_workers", o.max_workers},
            {"idle_timeout_ns", o.idle_timeout.count()},
            {"http", http_name(o.http)},
            {"streams", o.streams},
            {"requests", o.requests},
            {"duration_ns", o.duration.count()},
            {"timeout_ns", o.timeout.count()}};
  // Optional: only when given, so files without it read the same.
  if (!o.connect_host.empty()) {
    j["connect_host"] = o.connect_host;
    j["connect_port"] = o.connect_port;
  }
  if (!o.unix_socket.empty()) j["unix_socket"] = o.unix_socket;
  if (o.pipeline > 1) j["pipeline"] = o.pipeline;
  if (!o.proxy_host.empty()) {
    j["proxy_host"] = o.proxy_host;
    j["proxy_port"] = o.proxy_port;
  }
  if (o.target_count > 0) {  // (the breakdown by target: the file's "by_target")
    j["targets"] = {{"count", o.target_count},
                    {"file", o.targets_file},
                    {"order", o.order == http::target_order::random ? "random" : "round-robin"},
                    {"seed", o.seed}};
  }
  return j;
}

void read_config(const json& j, run_record& r) {
  const std::string w = "config";
  auto& o = r.options;
  o.request.method = text(j, "method", w);
  o.url_text = text(j, "url", w);
  const auto model = text(j, "model", w);
  if (model != "open" && model != "closed") fail(w + ".model", "expected open or closed");
  o.open_model = model == "open";
  o.concurrency = small(j, "concurrency", w);
  o.threads = small(j, "threads", w);
  o.rps = number(j, "rps", w);
  o.schedule_option = text(j, "schedule_option", w);
  o.schedule_text = text(j, "schedule", w);
  r.scheduled_rate = number(j, "scheduled_rps", w);
  o.workers = small(j, "workers", w);
  o.max_workers = small(j, "max_workers", w);
  o.idle_timeout = nanoseconds(i64(j, "idle_timeout_ns", w));
  const auto http = text(j, "http", w);
  if (http == "1.1") {
    o.http = http::http_version::http1_1;
  } else if (http == "2") {
    o.http = http::http_version::http2;
  } else if (http == "auto") {
    o.http = http::http_version::negotiate;
  } else {
    fail(w + ".http", "expected 1.1, 2 or auto");
  }
  o.streams = small(j, "streams", w);
  o.requests = u64(j, "requests", w);
  o.duration = nanoseconds(i64(j, "duration_ns", w));
  o.timeout = nanoseconds(i64(j, "timeout_ns", w));
  if (j.contains("connect_host")) {
    o.connect_host = text(j, "connect_host", w);
    o.connect_port = text(j, "connect_port", w);
  }
  if (j.contains("unix_socket")) o.unix_socket = text(j, "unix_socket", w);
  if (j.contains("pipeline")) o.pipeline = small(j, "pipeline", w);
  if (j.contains("proxy_host")) {
    o.proxy_host = text(j, "proxy_host", w);
    o.proxy_port = text(j, "proxy_port", w);
  }
  if (j.contains("targets")) {
    const auto& t = j["targets"];
    const std::string tw = w + ".targets";
    if (!t.is_object()) fail(tw, "expected an object");
    o.target_count = u64(t, "count", tw);
    if (o.target_count == 0) fail(tw + ".count", "expected at least 1");
    o.targets_file = text(t, "file", tw);
    const auto order = text(t, "order", tw);
    if (order != "random" && order != "round-robin")
      fail(tw + ".order", "expected round-robin or random");
    o.order = order == "random" ? http::target_order::random : http::target_order::round_robin;
    o.seed = u64(t, "seed", tw);
  }
}

json summary_json(const stats::summary& s) {
  json codes = json::object();
  for (std::size_t c = 0; c < s.status_counts.size(); ++c)
    if (s.status_counts[c]) codes[std::to_string(c)] = s.status_counts[c];
  const auto h = [](const stats::histogram& x) {
    return histogram_json(stats::sparse_histogram(x));
  };
  return {
      {"elapsed_ns", s.elapsed.count()},
      {"last_send_ns", s.last_send.count()},
      {"dns_ns", s.dns.count()},
      {"requests", s.requests},
      {"successes", s.successes},
      {"errors", s.errors},
      {"bytes", s.bytes},
      {"status_codes", std::move(codes)},
      {"errors_by_kind", error_kinds_json(s.error_counts)},
      {"connections",
       {{"opened", s.connections_opened},
        {"closed", s.connections_closed},
        {"retired_idle", s.connections_retired},
        {"peak", s.peak_connections}}},
      {"late", s.late},
      {"not_sent", s.not_sent},
      {"unsolicited", s.unsolicited},
      {"retries", s.retries},
      {"tls", {{"full", s.tls_full}, {"resumed", s.tls_resumed}}},
      {"http2",
       {{"connections", s.http2.connections},
        {"goaways", s.http2.goaways},
        {"header_bytes_wire", s.http2.header_bytes_wire},
        {"header_bytes_decoded", s.http2.header_bytes_decoded},
        {"peak_streams", s.http2.peak_streams},
        {"stream_limit", s.http2.stream_limit}}},
      {"histograms",
       {{"latency", h(s.latency)},
        {"service_time", h(s.service_time)},
        {"send_lag", h(s.send_lag)},
        {"ttfb", h(s.ttfb)},
        {"connect", h(s.connect_time)},
        {"tls_handshake", h(s.tls_handshake)}}},
  };
}

void read_summary(const json& j, stats::summary& s) {
  const std::string w = "summary";
  s.elapsed = nanoseconds(i64(j, "elapsed_ns", w));
  if (s.elapsed.count() < 0 || s.elapsed.count() > max_elapsed_ns)
    fail(w + ".elapsed_ns", "out of range");
  s.last_send = nanoseconds(i64(j, "last_send_ns", w));
  s.dns = nanoseconds(i64(j, "dns_ns", w));
  s.requests = u64(j, "requests", w);
  if (s.requests > max_requests) fail(w + ".requests", "more than 2^40");
  s.successes = u64(j, "successes", w);
  s.errors = u64(j, "errors", w);
  s.bytes = u64(j, "bytes", w);
  const auto& codes = field(j, "status_codes", w);
  if (!codes.is_object()) fail(w + ".status_codes", "expected an object");
  std::uint64_t responses = 0, successes = 0;
  for (const auto& [key, value] : codes.items()) {
    std::size_t code = 0;
    const auto* end = key.data() + key.size();
    if (key.empty() || key.size() > 3 || std::find_if(key.begin(), key.end(), [](char c) {
                                           return c < '0' || c > '9';
                                         }) != key.end())
      fail(w + ".status_codes", fmt::format("'{}' is not a status code", printable(key)));
    code = static_cast<std::size_t>(std::stoul(std::string(key.data(), end)));
    if (code >= s.status_counts.size())
      fail(w + ".status_codes", fmt::format("'{}' is not a status code", printable(key)));
    if (!value.is_number_unsigned()) fail(w + ".status_codes." + key, "expected a count");
    s.status_counts[code] = value.get<std::uint64_t>();
    responses += s.status_counts[code];
    if (code >= 200 && code < 400) successes += s.status_counts[code];
  }
  read_error_kinds(field(j, "errors_by_kind", w), w + ".errors_by_kind", s.error_counts);
  const auto& c = field(j, "connections", w);
  s.connections_opened = u64(c, "opened", w + ".connections");
  s.connections_closed = u64(c, "closed", w + ".connections");
  s.connections_retired = u64(c, "retired_idle", w + ".connections");
  s.peak_connections = u64(c, "peak", w + ".connections");
  s.late = u64(j, "late", w);
  s.not_sent = u64(j, "not_sent", w);
  s.unsolicited = u64(j, "unsolicited", w);
  s.retries = u64(j, "retries", w);
  const auto& tls = field(j, "tls", w);
  s.tls_full = u64(tls, "full", w + ".tls");
  s.tls_resumed = u64(tls, "resumed", w + ".tls");
  const auto& h2 = field(j, "http2", w);
  const std::string w2 = w + ".http2";
  s.http2.connections = u64(h2, "connections", w2);
  s.http2.goaways = u64(h2, "goaways", w2);
  s.http2.header_bytes_wire = u64(h2, "header_bytes_wire", w2);
  s.http2.header_bytes_decoded = u64(h2, "header_bytes_decoded", w2);
  s.http2.peak_streams = u64(h2, "peak_streams", w2);
  s.http2.stream_limit = u64(h2, "stream_limit", w2);
  const auto& hs = field(j, "histograms", w);
  const std::string wh = w + ".histograms";
  s.latency = read_dense(hs, "latency", wh);
  s.service_time = read_dense(hs, "service_time", wh);
  s.send_lag = read_dense(hs, "send_lag", wh);
  s.ttfb = read_dense(hs, "ttfb", wh);
  s.connect_time = read_dense(hs, "connect", wh);
  s.tls_handshake = read_dense(hs, "tls_handshake", wh);
  // What the engine always keeps true: a corrupt or hand-edited file is refused rather than
  // reported with numbers that contradict each other.
  std::uint64_t kinds = 0;
  for (const auto n : s.error_counts) kinds += n;
  if (kinds != s.errors) fail(w, "errors_by_kind does not add up to errors");
  if (responses + s.errors != s.requests)
    fail(w, "status_codes and errors do not add up to requests");
  if (successes != s.successes) fail(w, "successes disagree with status_codes");
  if (s.latency.count() != responses)
    fail(w, "the latency histogram does not count every response");
}

json interval_json(const stats::interval_record& r) {
  return {{"i", r.index},
          {"requests", r.requests},
          {"successes", r.successes},
          {"errors", r.errors},
          {"bytes", r.bytes},
          {"status_classes", r.status_classes},
          {"errors_by_kind", error_kinds_json(r.error_counts)},
          {"latency", histogram_json(r.latency)}};
}

stats::interval_record read_interval(const json& j, const std::string& w) {
  stats::interval_record r;
  r.index = u64(j, "i", w);
  r.requests = u64(j, "requests", w);
  r.successes = u64(j, "successes", w);
  r.errors = u64(j, "errors", w);
  r.bytes = u64(j, "bytes", w);
  const auto& classes = field(j, "status_classes", w);
  if (!classes.is_array() || classes.size() != r.status_classes.size())
    fail(w + ".status_classes", "expected 6 counts (other, 1xx ... 5xx)");
  for (std::size_t k = 0; k < r.status_classes.size(); ++k) {
    if (!classes[k].is_number_unsigned()) fail(w + ".status_classes", "expected counts");
    r.status_classes[k] = classes[k].get<std::uint64_t>();
  }
  read_error_kinds(field(j, "errors_by_kind", w), w + ".errors_by_kind", r.error_counts);
  r.latency = read_histogram(field(j, "latency", w), w + ".latency");
  std::uint64_t responses = 0;
  for (const auto n : r.status_classes) responses += n;
  if (responses + r.errors != r.requests || r.latency.totals().count != responses)
    fail(w, "counts do not add up");
  return r;
}

void read_timeline(const json& j, stats::summary& s) {
  const std::string w = "timeline";
  const auto width = nanoseconds(i64(j, "interval_ns", w));
  if (width.count() <= 0 || width.count() > max_interval_ns)
    fail(w + ".interval_ns", "out of range");
  // Reports fill the gaps between intervals: a run's length in intervals is bounded, so that a
  // corrupt length or width cannot ask for billions of rows.
  if (s.elapsed.count() < 0 || s.elapsed / width > max_intervals)
    fail(w, fmt::format("more than {} intervals of {} ns", max_intervals, width.count()));
  const auto coarsened = small(j, "coarsened", w);
  const auto& list = field(j, "intervals", w);
  if (!list.is_array()) fail(w + ".intervals", "expected an array");
  std::vector<stats::interval_record> intervals;
  intervals.reserve(list.size());
  std::uint64_t requests = 0;
  for (std::size_t k = 0; k < list.size(); ++k) {
    intervals.push_back(read_interval(list[k], fmt::format("{}.intervals[{}]", w, k)));
    if (intervals.back().index > static_cast<std::uint64_t>(s.elapsed / width))
      fail(fmt::format("{}.intervals[{}]", w, k), "after the run's end");
    requests += intervals.back().requests;
  }
  if (requests != s.requests) fail(w, "its intervals do not add up to the summary's requests");
  auto t = stats::timeline::restore(width, coarsened, std::move(intervals));
  if (!t) fail(w + ".intervals", "not in ascending order");
  s.timeline = std::move(*t);
}

std::int64_t unix_ns(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_unix_ns(std::int64_t ns) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(nanoseconds(ns)));
}

// The optional "shard", "start_at_unix_ns" and "start_late_ns".
void read_shard(const json& j, run_record& r) {
  auto& o = r.options;
  if (j.contains("shard")) {
    const auto& sh = j["shard"];
    o.shard.count = small(sh, "count", "shard");
    o.shard.index = small(sh, "index", "shard");
    o.shard.source = text(sh, "source", "shard");
    if (o.shard.count < 1 || o.shard.count > max_shards) fail("shard.count", "out of range");
    if (o.shard.index >= o.shard.count) fail("shard.index", "not below shard.count");
  }
  if (j.contains("start_at_unix_ns")) {
    const auto at = i64(j, "start_at_unix_ns", "file");
    if (at < 0 || at > max_start_ns) fail("start_at_unix_ns", "out of range");
    o.start_at = from_unix_ns(at);
    const auto late = i64(j, "start_late_ns", "file");
    if (late < 0 || late > max_start_ns) fail("start_late_ns", "out of range");
    r.start_late = nanoseconds(late);
  }
  r.shards = own_shards(o, r.start_late);
}

}  // namespace

result<void> save_results(const run_record& r, const std::string& path) {
  std::ofstream file;
  if (path != "-") file.open(path, std::ios::binary | std::ios::trunc);
  std::ostream& out = path == "-" ? std::cout : file;
  const std::string name =
      path == "-" ? std::string("to standard output") : fmt::format("'{}'", printable(path));
  if (!out) return failure{"cannot write the results file " + name};
  json head = {{"format", "hit-results"},
               {"version", r.options.shard.sharded() ? results_version : 1},
               {"generator", std::string("hit ") + HIT_VERSION},
               {"start_unix_ns", unix_ns(r.start)},
               {"interrupted", r.interrupted},
               {"stopped_by_threshold", r.stopped_by_threshold},
               {"parts", r.parts},
               {"histogram",
                {{"sub_bucket_bits", stats::histogram::sub_bucket_bits},
                 {"max_value_bits", stats::histogram::max_value_bits}}},
               {"config", config_json(r)},
               {"summary", summary_json(r.summary)}};
  if (!r.target_names.empty()) head["by_target"] = by_target_json(r);
  // Optional, so that files without them still read: the shard, and the common start.
  const auto& o = r.options;
  if (o.shard.sharded())
    head["shard"] = {
        {"index", o.shard.index}, {"count", o.shard.count}, {"source", o.shard.source}};
  if (o.start_at) {
    head["start_at_unix_ns"] = unix_ns(*o.start_at);
    head["start_late_ns"] = r.start_late.value_or(nanoseconds(0)).count();
  }
  // Everything but the timeline, then the timeline one interval at a time.
  std::string text = head.dump(-1, ' ', false, json::error_handler_t::replace);
  text.pop_back();  // the closing brace
  out << text;
  const auto& t = r.summary.timeline;
  if (t.enabled()) {
    out << R"(,"timeline":{"interval_ns":)" << t.width().count() << R"(,"coarsened":)"
        << t.coarsened() << R"(,"intervals":[)";
    bool first = true;
    for (const auto& iv : t.intervals()) {
      out << (first ? "\n" : ",\n") << interval_json(iv).dump();
      first = false;
    }
    out << "]}";
  }
  out << "}\n";
  out.flush();
  if (!out) return failure{"cannot write the results file " + name};
  return {};
}

result<run_record> load_results(const std::string& path) {
  const auto name = fmt::format("'{}'", printable(path));
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return failure{name + ": cannot open it"};
  if (!std::filesystem::is_regular_file(status))
    return failure{name + ": not a file (a results file is a regular file)"};
  // Far above what an hour-long run writes (docs/results.md): a bigger file is not ours.
  constexpr std::uintmax_t max_size = std::uintmax_t{1} << 30;
  if (std::filesystem::file_size(path, ec) > max_size || ec)
    return failure{name + ": not a hit results file (larger than 1 GiB)"};
  std::ifstream in(path, std::ios::binary);
  if (!in) return failure{name + ": cannot open it"};
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return failure{name + ": cannot read it"};
  return parse_results(text, path);
}

result<run_record> parse_results(std::string_view text, const std::string& path) {
  const std::string name = fmt::format("'{}'", printable(path));
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& e) {
    return failure{fmt::format("{}: not a hit results file (not JSON, or truncated: {} at byte {})",
                               name, e.id == 101 ? "parse error" : "error", e.byte)};
  } catch (const json::exception& e) {
    // A number beyond a double ("1e824"): valid JSON grammar, not a value a file of ours holds.
    return failure{fmt::format("{}: not a hit results file ({})", name, e.what())};
  }
  if (!j.is_object() || !j.contains("format") || j["format"] != "hit-results")
    return failure{name + ": not a hit results file (no \"format\": \"hit-results\")"};
  run_record r;
  r.label = path;
  try {
    const auto version = u64(j, "version", "file");
    if (version > static_cast<std::uint64_t>(results_version))
      return failure{
          fmt::format("{}: written by a newer hit (format version {}; this hit reads {})", name,
                      version, results_version)};
    if (version == 0) fail("version", "must be 1 or more");
    const auto& h = field(j, "histogram", "file");
    if (u64(h, "sub_bucket_bits", "histogram") != stats::histogram::sub_bucket_bits ||
        u64(h, "max_value_bits", "histogram") != stats::histogram::max_value_bits)
      fail("histogram", "a bucket layout this hit does not read");
    const auto start = i64(j, "start_unix_ns", "file");
    if (start < 0 || start > max_start_ns) fail("start_unix_ns", "out of range");
    r.start = from_unix_ns(start);
    r.interrupted = boolean(j, "interrupted", "file");
    // Optional: a reader of version 1 may meet files written before it was kept.
    if (j.contains("stopped_by_threshold"))
      r.stopped_by_threshold = boolean(j, "stopped_by_threshold", "file");
    r.parts = std::max(1u, small(j, "parts", "file"));
    read_config(field(j, "config", "file"), r);
    read_shard(j, r);
    read_summary(field(j, "summary", "file"), r.summary);
    if (j.contains("timeline")) read_timeline(j["timeline"], r.summary);
    if (j.contains("by_target")) read_by_target(j["by_target"], r);
  } catch (const format_error& e) {
    return failure{name + ": " + e.message};
  }
  return r;
}

shard_set own_shards(const run_options& o, std::optional<nanoseconds> start_late) {
  shard_set s;
  s.count = o.shard.count;
  s.present = {o.shard.index};
  if (start_late && *start_late > late_start) s.late.emplace_back(o.shard.index, *start_late);
  return s;
}

namespace {

// What two shards of one run agree on; the first that differs, named, or nullopt.
std::optional<std::string> differs(const run_options& a, const run_options& b) {
  if (a.url_text != b.url_text) return "URLs";
  if (a.request.method != b.request.method) return "methods";
  if (a.open_model != b.open_model || a.schedule_text != b.schedule_text || a.rps != b.rps)
    return "rates";
  if (a.duration != b.duration) return "durations (-z)";
  if (a.start_at != b.start_at) return "start times (--start-at)";
  return std::nullopt;
}

// The shards behind `parts`: of one run, each once, all there unless `partial`.
result<shard_set> merge_shards(const std::vector<run_record>& parts, bool partial) {
  const auto& first = parts.front();
  const auto name = [](const run_record& r) { return fmt::format("'{}'", printable(r.label)); };
  shard_set out;
  out.count = first.shards.count;
  std::vector<std::pair<unsigned, const run_record*>> seen;
  for (const auto& p : parts) {
    if (p.shards.count != out.count) {
      const auto what = [](const run_record& r) {
        return r.shards.sharded() ? fmt::format("one of {} shards", r.shards.count)
                                  : std::string("not a shard");
      };
      return failure{fmt::format("{} is {} and {} is {}: merge the files of one run", name(first),
                                 what(first), name(p), what(p))};
    }
    if (!out.sharded()) continue;
    if (const auto d = differs(first.options, p.options))
      return failure{fmt::format("{} and {} are shards of different runs: their {} differ",
                                 name(first), name(p), *d)};
    for (const auto i : p.shards.present) seen.emplace_back(i, &p);
    out.late.insert(out.late.end(), p.shards.late.begin(), p.shards.late.end());
  }
  if (!out.sharded()) {
    out.present = {0};
    for (const auto& p : parts)
      out.late.insert(out.late.end(), p.shards.late.begin(), p.shards.late.end());
    return out;
  }
  std::stable_sort(seen.begin(), seen.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (std::size_t k = 0; k < seen.size(); ++k) {
    if (k > 0 && seen[k].first == seen[k - 1].first)
      return failure{
          fmt::format("shard {} of {} is given twice ({} and {}): its requests would "
                      "count twice",
                      seen[k].first, out.count, name(*seen[k - 1].second), name(*seen[k].second))};
    out.present.push_back(seen[k].first);
  }
  std::sort(out.late.begin(), out.late.end());
  if (const auto missing = out.missing(); !missing.empty() && !partial)
    return failure{fmt::format(
        "shard{} {} of {} {} missing: give every shard's results file, or --partial to report "
        "on the {} given",
        missing.size() > 1 ? "s" : "", index_list(missing), out.count,
        missing.size() > 1 ? "are" : "is", parts.size())};
  return out;
}

}  // namespace

result<run_record> merge_results(std::vector<run_record> parts, bool partial) {
  if (parts.empty()) return failure{"no results to merge"};
  auto shards = merge_shards(parts, partial);
  if (!shards) return failure{shards.error()};
  auto earliest = parts.front().start;
  for (const auto& p : parts) earliest = std::min(earliest, p.start);
  // Every part moves to the earliest start: its intervals by its offset in whole intervals,
  // its durations by the offset itself.
  nanoseconds span{0}, aligned_end{0}, widest{0};
  std::uint64_t requests = 0;
  for (auto& p : parts) {
    const auto offset = std::chrono::duration_cast<nanoseconds>(p.start - earliest);
    const auto w = p.summary.timeline.width();
    if (w.count() > 0) {
      const auto shift = (offset + w / 2) / w;
      p.summary.timeline.shift(static_cast<std::uint64_t>(shift));
      // Its intervals' end, moved by the rounded offset: the last one is cut there.
      aligned_end = std::max(aligned_end, w * shift + p.summary.elapsed);
      widest = std::max(widest, w);
    }
    span = std::max(span, offset + p.summary.elapsed);
    requests += p.summary.requests;
    if (p.summary.last_send.count() > 0) p.summary.last_send += offset;
    if (!stats::timeline::aligns(parts.front().summary.timeline, p.summary.timeline))
      return failure{fmt::format(
          "'{}' and '{}' have timelines of {} and {} intervals, which do not align (merge "
          "files whose --interval is the same)",
          printable(parts.front().label), printable(p.label),
          stats::format_duration(parts.front().summary.timeline.width()),
          stats::format_duration(w))};
  }
  if (widest.count() > 0 && std::max(span, aligned_end) / widest > max_intervals)
    return failure{
        fmt::format("the results span {} from the first start to the last end: too far "
                    "apart to lay out in intervals of {}",
                    stats::format_duration(span), stats::format_duration(widest))};
  if (requests > max_requests * 256) return failure{"more requests than hit can merge (2^48)"};
  // Breakdowns by target line up by name: the union of the names, in order of appearance.
  std::vector<std::string> names;
  for (const auto& p : parts)
    for (const auto& n : p.target_names)
      if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
  for (auto& p : parts) {
    if (p.target_names == names) continue;
    std::vector<stats::target_stats> aligned(names.size());
    for (std::size_t k = 0; k < p.target_names.size() && k < p.summary.by_target.size(); ++k)
      aligned[static_cast<std::size_t>(std::find(names.begin(), names.end(), p.target_names[k]) -
                                       names.begin())] = std::move(p.summary.by_target[k]);
    p.summary.by_target = std::move(aligned);
    p.target_names = names;
  }
  run_record out = std::move(parts.front());
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto& p = parts[i];
    out.summary.merge(p.summary);
    auto& o = out.options;
    o.concurrency += p.options.concurrency;
    // Shards ran shares of one run: their -n shares add up to its -n, and each kept its whole
    // rate. Separate runs merged add their rates.
    if (shards->sharded()) {
      o.requests += p.options.requests;
    } else {
      o.rps += p.options.rps;
    }
    o.workers += p.options.workers;
    o.max_workers += p.options.max_workers;
    out.scheduled_rate += p.scheduled_rate;
    out.interrupted = out.interrupted || p.interrupted;
    out.stopped_by_threshold = out.stopped_by_threshold || p.stopped_by_threshold;
    out.parts += p.parts;
  }
  out.summary.elapsed = span;
  if (parts.size() > 1 && out.summary.timeline.enabled() && aligned_end != span)
    out.summary.timeline.set_end(aligned_end);
  out.start = earliest;
  out.shards = std::move(*shards);
  return out;
}

}  // namespace hit::cli

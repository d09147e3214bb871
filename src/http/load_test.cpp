#include "hit/http/load_test.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/un.h>

#include <condition_variable>
#include <exception>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include <boost/asio/local/stream_protocol.hpp>

#include "detail/event_loop.hpp"
#include "detail/http2_request.hpp"
#include "hit/printable.hpp"
#include "hit/version.hpp"

namespace hit::http {

struct load_test::impl {
  load_config cfg;
  detail::run_plan plan;
  std::chrono::nanoseconds dns{0};
  std::vector<std::unique_ptr<detail::event_loop>> loops;
  std::vector<std::thread> threads;
  detail::clock::time_point start;
  std::chrono::system_clock::time_point wall_start;
  std::mutex m;
  std::condition_variable cv;
  unsigned finished = 0;       // guarded by m
  std::exception_ptr failure;  // guarded by m
  bool joined = false;
  // take_live_intervals: what some loops have closed and others not yet, by index; and the
  // next index to hand out.
  std::map<std::uint64_t, stats::interval_record> live_pending;
  std::uint64_t live_next = 0;
  std::vector<std::string> target_names;  // the breakdown's, by slot
};

load_test::load_test(load_config cfg) : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.cfg = std::move(cfg);
  if (s.cfg.pipeline == 0) throw std::invalid_argument("load_test: pipeline is at least 1");
  if (s.cfg.pipeline > 1 && (s.cfg.http != http_version::http1_1 || s.cfg.rate ||
                             s.cfg.model != load_model::closed || !s.cfg.keepalive))
    throw std::invalid_argument(
        "load_test: pipelining is HTTP/1.1's, with keep-alive, in the closed model without a "
        "rate");
  const bool proxied = !s.cfg.proxy_host.empty();
  const bool https = s.cfg.target.scheme == "https";
  if (proxied && https) {
    // CONNECT names the port always, and an IPv6 literal in brackets (RFC 9110 9.3.6). The
    // proxy's credentials go to the proxy, never through the tunnel to the server.
    const auto& t = s.cfg.target;
    const auto authority =
        (t.host.find(':') == std::string::npos ? t.host : "[" + t.host + "]") + ":" + t.port;
    s.plan.tunnel = "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority +
                    "\r\nUser-Agent: hit/" HIT_VERSION "\r\n";
    for (const auto& [name, value] : s.cfg.request.headers)
      if (iequals(name, "proxy-authorization")) s.plan.tunnel += name + ": " + value + "\r\n";
    s.plan.tunnel += "\r\n";
  }
  // HTTP/2 always, or when a TLS server picks it (negotiate on http:// is HTTP/1.1).
  const bool h2 =
      s.cfg.http == http_version::http2 || (s.cfg.http == http_version::negotiate && https);
  const auto prepare = [&](const url& where, request_spec spec) {
    spec.keepalive = s.cfg.keepalive;
    spec.absolute_form = proxied && !https;  // through a proxy, http: the URL in the request line
    if (!s.plan.tunnel.empty())
      std::erase_if(spec.headers,
                    [](const auto& h) { return iequals(h.first, "proxy-authorization"); });
    detail::prepared_request p;
    p.head = spec.method == "HEAD";
    if (s.cfg.templates && request_template::has_placeholders(where, spec)) {
      if (h2) throw std::invalid_argument("load_test: templated requests are HTTP/1.1's");
      auto t = request_template::make(where, spec);
      if (!t) throw std::invalid_argument("load_test: " + t.error());
      p.varies = std::make_shared<const request_template>(std::move(*t));
    }
    if (h2) p.http2 = detail::build_http2_request(where, spec);
    // Never sent as HTTP/1.1 (HTTP/2 only, or rendered from the template): the body is held once.
    if (s.cfg.http == http_version::http2 || p.varies) return p;
    // The body moves into the request's bytes, held once however large.
    p.http1 = build_request(where, std::move(spec));
    return p;
  };
  if (s.cfg.targets.empty()) {
    s.plan.requests.push_back(prepare(s.cfg.target, std::move(s.cfg.request)));
    s.plan.slots.push_back(0);
  } else {
    // The breakdown's slots: one per name, in order of first appearance, the first
    // max_named_targets names; every later name shares the last slot, "other".
    std::unordered_map<std::string, std::uint32_t> slot_of;
    s.plan.requests.reserve(s.cfg.targets.size());
    for (auto& t : s.cfg.targets) {
      auto [it, fresh] = slot_of.try_emplace(t.name, static_cast<std::uint32_t>(slot_of.size()));
      if (fresh && it->second < max_named_targets) s.target_names.push_back(t.name);
      s.plan.slots.push_back(std::min(it->second, static_cast<std::uint32_t>(max_named_targets)));
      s.plan.requests.push_back(prepare(t.where, std::move(t.request)));
    }
    if (slot_of.size() > max_named_targets) s.target_names.emplace_back("other");
    s.plan.breakdown = s.target_names.size();
    std::vector<request_target>().swap(s.cfg.targets);  // (their bytes are the plan's now)
  }
  if (h2) {
    std::vector<detail::http2_request*> h2_requests;
    for (auto& p : s.plan.requests) h2_requests.push_back(&p.http2);
    detail::number_http2_fields(h2_requests);
  }
  s.cfg.request.body.clear();
  s.plan.server_name = s.cfg.tls.server_name.empty() ? s.cfg.target.host : s.cfg.tls.server_name;
}

const std::vector<std::string>& load_test::target_names() const {
  return impl_->target_names;
}

result<void> load_test::prepare_tls() {
  if (impl_->cfg.target.scheme != "https") return {};
  using namespace std::string_view_literals;
  const auto alpn = impl_->cfg.http == http_version::http2       ? "\x02h2"sv
                    : impl_->cfg.http == http_version::negotiate ? "\x02h2\x08http/1.1"sv
                                                                 : "\x08http/1.1"sv;
  auto t = detail::tls_context::create(impl_->cfg.tls, alpn);
  if (!t) return failure{t.error()};
  impl_->plan.tls = std::move(*t);
  return {};
}

load_test::~load_test() {
  if (!impl_->threads.empty() && !impl_->joined) {
    request_stop();
    for (auto& t : impl_->threads) t.join();
  }
}

// --unix-socket: one endpoint, the socket's path; nothing to resolve.
result<void> load_test::resolve_unix_socket() {
  const auto& path = impl_->cfg.unix_socket;
  const std::string name = "--unix-socket '" + printable(path) + "'";
  constexpr std::size_t most = sizeof(sockaddr_un::sun_path) - 1;  // and a terminating NUL
  if (path.empty() || path.size() > most || path.find('\0') != std::string::npos)
    return failure{name + ": a socket path is 1 to " + std::to_string(most) + " bytes, no NUL"};
  std::error_code ec;
  if (!std::filesystem::is_socket(path, ec))
    return failure{name + ": " +
                   (std::filesystem::exists(path, ec) ? "not a socket" : "no such socket") +
                   ": is the server running?"};
  impl_->dns = std::chrono::nanoseconds(0);
  impl_->plan.endpoints.assign(
      1, detail::endpoint_type(boost::asio::local::stream_protocol::endpoint(path)));
  return {};
}

result<void> load_test::resolve() {
  namespace ip = boost::asio::ip;
  boost::asio::io_context io;
  boost::system::error_code ec;
  const auto& cfg = impl_->cfg;
  auto& plan = impl_->plan;
  plan.local_address.reset();
  if (!cfg.unix_socket.empty()) return resolve_unix_socket();
  if (!cfg.local_address.empty()) {
    const auto local = ip::make_address(cfg.local_address, ec);
    const std::string name = "--local-address '" + printable(cfg.local_address) + "'";
    if (ec) return failure{name + " is not an IP address"};
    // Bound once now, so that an address this machine does not have is one line before the
    // run, not an error on every connect.
    ip::tcp::socket probe(io);
    probe.open(local.is_v4() ? ip::tcp::v4() : ip::tcp::v6(), ec);
    if (!ec) probe.bind({local, 0}, ec);
    if (ec) return failure{"cannot connect from " + name + ": " + ec.message()};
    plan.local_address = local;
  }
  const bool proxied = !cfg.proxy_host.empty();
  const bool elsewhere = !cfg.connect_host.empty();
  const auto& host = proxied ? cfg.proxy_host : elsewhere ? cfg.connect_host : cfg.target.host;
  const auto& port = proxied ? cfg.proxy_port : elsewhere ? cfg.connect_port : cfg.target.port;
  ip::tcp::resolver resolver(io);
  const auto t0 = detail::clock::now();
  // -4/-6 ask for that family only, without AI_ADDRCONFIG (Asio's default), which glibc applies
  // ignoring loopback: on a machine whose only IPv6 address is ::1 it would hide ::1 from -6.
  auto results = cfg.family == ip_family::any
                     ? resolver.resolve(host, port, ec)
                     : resolver.resolve(cfg.family == ip_family::v4 ? ip::tcp::v4() : ip::tcp::v6(),
                                        host, port, ip::resolver_base::flags(), ec);
  impl_->dns = detail::clock::now() - t0;
  const std::string what = "'" + printable(host) + "'" +
                           (proxied     ? " (the proxy)"
                            : elsewhere ? " (--connect-to)"
                                        : "");
  const std::string family =
      cfg.family == ip_family::v4 ? "IPv4 address (-4)" : "IPv6 address (-6)";
  if (ec && cfg.family != ip_family::any) {
    boost::system::error_code not_literal;
    (void)ip::make_address(host, not_literal);
    if (!not_literal) return failure{what + " has no " + family};  // a literal of the other
    return failure{"cannot resolve " + what + " to an " + family + ": " + ec.message()};
  }
  if (ec) return failure{"cannot resolve " + what + ": " + ec.message()};
  auto& endpoints = plan.endpoints;
  endpoints.clear();
  const auto wanted = [&](const ip::address& a) {
    if (cfg.family == ip_family::v4 && !a.is_v4()) return false;
    if (cfg.family == ip_family::v6 && !a.is_v6()) return false;
    return !plan.local_address || plan.local_address->is_v4() == a.is_v4();
  };
  for (const auto& r : results)
    if (wanted(r.endpoint().address())) endpoints.emplace_back(r.endpoint());
  if (endpoints.empty() && results.empty())
    return failure{"cannot resolve " + what + ": no addresses"};
  if (endpoints.empty() && cfg.family != ip_family::any) return failure{what + " has no " + family};
  if (endpoints.empty())
    return failure{what + " has no IPv" + (plan.local_address->is_v4() ? "4" : "6") +
                   " address to reach from --local-address '" + printable(cfg.local_address) + "'"};
  return {};
}

void load_test::start() {
  auto& s = *impl_;
  if (s.plan.endpoints.empty())
    throw std::logic_error("load_test::start before a successful resolve");
  if (s.cfg.target.scheme == "https" && !s.plan.tls)
    throw std::logic_error("load_test::start of an https run before prepare_tls");
  if (s.cfg.model == load_model::open && !s.cfg.rate)
    throw std::logic_error("the open model needs a rate schedule");
  if (s.cfg.shard_count == 0 || s.cfg.shard_index >= s.cfg.shard_count)
    throw std::logic_error("load_test: shard_index must be below shard_count");
  const unsigned conns =
      std::max(1u, s.cfg.model == load_model::open ? s.cfg.max_connections : s.cfg.connections);
  unsigned n = std::max(1u, std::min(s.cfg.threads, conns));
  // A paced closed run gives every loop the same share of the schedule, so every loop needs the
  // same number of connections: use the most loops that divide them evenly.
  if (s.cfg.rate && s.cfg.model == load_model::closed)
    while (conns % n != 0) --n;
  s.start = detail::clock::now();
  s.wall_start = std::chrono::system_clock::now();
  auto share = [&](unsigned i) { return conns / n + (i < conns % n ? 1 : 0); };
  std::uint64_t before = 0;                     // connections of the loops before loop i
  std::uint64_t budgets = s.cfg.first_request;  // the run's requests before loop i's
  for (unsigned i = 0; i < n; ++i) {
    std::uint64_t budget = std::numeric_limits<std::uint64_t>::max();
    if (s.cfg.requests > 0 && s.cfg.rate) {
      // Paced: loop i takes this shard's requests i, i + n, ... (flow::pacer's stride).
      budget = (s.cfg.requests - std::min<std::uint64_t>(i, s.cfg.requests) + n - 1) / n;
    } else if (s.cfg.requests > 0) {
      // Unpaced: in proportion to the loop's connections, so that no loop runs longer than
      // the others. floor(N * k / C) computed without overflow.
      const auto upto = [&](std::uint64_t k) {
        return s.cfg.requests / conns * k + s.cfg.requests % conns * k / conns;
      };
      budget = upto(before + share(i)) - upto(before);
    }
    before += share(i);
    s.loops.push_back(std::make_unique<detail::event_loop>(s.cfg, s.plan, i, n, s.start, budget));
    // Round robin over the targets as one sequence: a paced loop's requests are the schedule's
    // g, g + stride, ...; an unpaced loop's, the next `budget` of the run's -n (or, unbounded,
    // any: each loop starts at a different target).
    const std::uint64_t g = s.cfg.shard_index + std::uint64_t{s.cfg.shard_count} * i;
    const std::uint64_t stride = std::uint64_t{s.cfg.shard_count} * n;
    if (s.cfg.rate) {
      s.loops.back()->aim(g, stride, g, stride);
    } else if (s.cfg.requests > 0) {
      s.loops.back()->aim(budgets, 1, budgets, 1);
      budgets += budget;
    } else {
      s.loops.back()->aim(g, 1, g, stride);  // (numbers interleaved: each loop's own)
    }
  }
  for (unsigned i = 0; i < n; ++i) {
    const unsigned share_i = share(i);
    s.threads.emplace_back([this, i, share_i] {
      // OpenSSL writes with write(2), which raises SIGPIPE on a connection the peer has reset
      // (Asio's own sends pass MSG_NOSIGNAL): blocked on the loop threads, the write fails with
      // EPIPE instead, and the connection's error handling decides (a stale connection: resent).
      sigset_t pipe;
      sigemptyset(&pipe);
      sigaddset(&pipe, SIGPIPE);
      pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
      std::exception_ptr err;
      try {
        impl_->loops[i]->run(share_i);
      } catch (...) {
        err = std::current_exception();
      }
      if (err) request_stop();  // the other loops need not run to their end
      std::lock_guard lock(impl_->m);
      if (err && !impl_->failure) impl_->failure = err;
      ++impl_->finished;
      impl_->cv.notify_all();
    });
  }
}

void load_test::request_stop() {
  for (auto& l : impl_->loops) l->stop_requested.store(true, std::memory_order_relaxed);
}

bool load_test::wait_for(std::chrono::nanoseconds d) {
  std::unique_lock lock(impl_->m);
  return impl_->cv.wait_for(lock, d, [&] { return impl_->finished == impl_->loops.size(); });
}

progress load_test::current() const {
  progress p;
  for (const auto& l : impl_->loops) {
    p.done += l->published.done.load(std::memory_order_relaxed);
    p.errors += l->published.errors.load(std::memory_order_relaxed);
    for (std::size_t c = 0; c < p.status_classes.size(); ++c)
      p.status_classes[c] += l->published.status_classes[c].load(std::memory_order_relaxed);
    for (std::size_t k = 0; k < p.errors_by_kind.size(); ++k)
      p.errors_by_kind[k] += l->published.errors_by_kind[k].load(std::memory_order_relaxed);
  }
  p.elapsed = detail::clock::now() - impl_->start;
  return p;
}

stats::summary load_test::join() {
  for (auto& t : impl_->threads) t.join();
  impl_->joined = true;
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  // The first loop's summary is moved, not copied: its timeline may be large.
  stats::summary total = std::move(impl_->loops.front()->summary);
  for (std::size_t i = 1; i < impl_->loops.size(); ++i) total.merge(impl_->loops[i]->summary);
  total.live = nullptr;  // the loop's, not the caller's
  total.dns = impl_->dns;
  return total;
}

load_test::live_intervals load_test::take_live_intervals() {
  auto& s = *impl_;
  std::uint64_t through = std::numeric_limits<std::uint64_t>::max();
  bool all_finished = true;
  std::chrono::nanoseconds ended{0};
  for (auto& l : s.loops) {
    const std::lock_guard lock(l->mailbox.m);
    for (auto& r : l->mailbox.closed) {
      auto [it, fresh] = s.live_pending.try_emplace(r.index, std::move(r));
      if (!fresh) it->second.merge(r);
    }
    l->mailbox.closed.clear();
    ended = std::max(ended, l->mailbox.ended);
    if (!l->mailbox.finished) {
      through = std::min(through, l->mailbox.through);
      all_finished = false;
    }
  }
  if (all_finished)
    through = s.live_pending.empty() ? s.live_next : s.live_pending.rbegin()->first + 1;
  live_intervals out;
  if (all_finished) out.ended = ended;
  for (; s.live_next < through; ++s.live_next) {
    const auto it = s.live_pending.find(s.live_next);
    if (it == s.live_pending.end()) {
      out.closed.emplace_back().index = s.live_next;  // nothing completed in it: a gap
    } else {
      out.closed.push_back(std::move(it->second));
      s.live_pending.erase(it);
    }
  }
  return out;
}

std::chrono::system_clock::time_point load_test::started_at() const {
  return impl_->wall_start;
}

std::string load_test::first_proxy_failure() const {
  for (const auto& l : impl_->loops)
    if (!l->first_proxy_failure.empty()) return l->first_proxy_failure;
  return {};
}

tls_failure load_test::first_tls_failure() const {
  for (const auto& l : impl_->loops)
    if (!l->first_tls_failure.reason.empty()) return l->first_tls_failure;
  return {};
}

}  // namespace hit::http

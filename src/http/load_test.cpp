#include "hit/http/load_test.hpp"

#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "detail/event_loop.hpp"

namespace hit::http {

namespace detail {

event_loop::event_loop(const load_config& c, const std::vector<asio::ip::tcp::endpoint>& eps,
                       unsigned index, unsigned loops, clock::time_point t0)
    : cfg(c),
      endpoints(eps),
      io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE),
      start(t0),
      // This loop takes requests index, index + loops, ...: its share of the first n.
      budget(c.requests
                 ? (c.requests - std::min<std::uint64_t>(index, c.requests) + loops - 1) / loops
                 : std::numeric_limits<std::uint64_t>::max()),
      sweep(io.get_executor()),
      end_timer(io.get_executor()) {
  if (c.rate) pacer.emplace(*c.rate, index, loops);
}

std::optional<clock::time_point> event_loop::take_request() {
  if (stopping || budget == 0) return std::nullopt;
  clock::time_point due{};
  if (pacer) {
    const auto offset = pacer->take();
    if (!offset) return std::nullopt;
    if (cfg.duration.count() > 0 && *offset >= cfg.duration) return std::nullopt;
    due = start + *offset;
  }
  --budget;
  return due;
}

void event_loop::stop_sending() {
  stopping = true;
  for (auto& c : connections)
    c.wake();  // pacing and back-off waits end now
}

void event_loop::connection_done() {
  if (--active == 0) {
    sweep.cancel();
    end_timer.cancel();
  }
}

// Checks deadlines and stop requests every `sweep_interval` rather than arming a timer per
// request: a timer per request would cost a timerfd syscall each time the earliest deadline
// moves.
void event_loop::arm_sweep() {
  sweep.expires_after(sweep_interval);
  sweep.async_wait([this](const boost::system::error_code& ec) {
    if (ec || active == 0) return;
    if (!stopping && stop_requested.load(std::memory_order_relaxed)) stop_sending();
    const auto now = clock::now();
    for (auto& c : connections)
      c.expire(now);
    publish();
    arm_sweep();
  });
}

void event_loop::run(unsigned n) {
  for (unsigned i = 0; i < n; ++i)
    connections.emplace_back(*this);
  active = n;
  // Also the latency of a stop request: at most 50 ms.
  sweep_interval = std::clamp<std::chrono::nanoseconds>(
      cfg.timeout / 10, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
  arm_sweep();
  if (cfg.duration.count() > 0) {
    end_timer.expires_at(start + cfg.duration);
    end_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) stop_sending();
    });
  }
  for (auto& c : connections)
    c.start();
  io.run();
  summary.elapsed = clock::now() - start;
  publish();
}

}  // namespace detail

struct load_test::impl {
  load_config cfg;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
  std::vector<std::unique_ptr<detail::event_loop>> loops;
  std::vector<std::thread> threads;
  detail::clock::time_point start;
  std::mutex m;
  std::condition_variable cv;
  unsigned finished = 0;       // guarded by m
  std::exception_ptr failure;  // guarded by m
  bool joined = false;
};

load_test::load_test(load_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
}

load_test::~load_test() {
  if (!impl_->threads.empty() && !impl_->joined) {
    request_stop();
    for (auto& t : impl_->threads)
      t.join();
  }
}

std::optional<std::string> load_test::resolve() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(impl_->cfg.host, impl_->cfg.port, ec);
  if (ec) return "cannot resolve '" + impl_->cfg.host + "': " + ec.message();
  impl_->endpoints.clear();
  for (const auto& r : results)
    impl_->endpoints.push_back(r.endpoint());
  if (impl_->endpoints.empty()) return "cannot resolve '" + impl_->cfg.host + "': no addresses";
  return std::nullopt;
}

void load_test::start() {
  auto& s = *impl_;
  if (s.endpoints.empty()) throw std::logic_error("load_test::start before a successful resolve");
  const unsigned conns = std::max(1u, s.cfg.connections);
  const unsigned n = std::max(1u, std::min(s.cfg.threads, conns));
  s.start = detail::clock::now();
  for (unsigned i = 0; i < n; ++i)
    s.loops.push_back(std::make_unique<detail::event_loop>(s.cfg, s.endpoints, i, n, s.start));
  for (unsigned i = 0; i < n; ++i) {
    const unsigned share = conns / n + (i < conns % n ? 1 : 0);
    s.threads.emplace_back([this, i, share] {
      std::exception_ptr err;
      try {
        impl_->loops[i]->run(share);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard lock(impl_->m);
      if (err && !impl_->failure) impl_->failure = err;
      ++impl_->finished;
      impl_->cv.notify_all();
    });
  }
}

void load_test::request_stop() {
  for (auto& l : impl_->loops)
    l->stop_requested.store(true, std::memory_order_relaxed);
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
  }
  p.elapsed = detail::clock::now() - impl_->start;
  return p;
}

stats::summary load_test::join() {
  for (auto& t : impl_->threads)
    t.join();
  impl_->joined = true;
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  stats::summary total;
  for (const auto& l : impl_->loops)
    total.merge(l->summary);
  return total;
}

}  // namespace hit::http

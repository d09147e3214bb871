#include "hit/http/load_test.hpp"

#include <boost/asio/post.hpp>
#include <condition_variable>
#include <exception>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "detail/event_loop.hpp"
#include "hit/printable.hpp"

namespace hit::http {

namespace detail {

event_loop::event_loop(const load_config& c, const std::vector<asio::ip::tcp::endpoint>& eps,
                       unsigned index, unsigned loops, clock::time_point t0, std::uint64_t budget_)
    : cfg(c),
      endpoints(eps),
      io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE),
      start(t0),
      budget(budget_),
      sweep(io.get_executor()),
      end_timer(io.get_executor()),
      open_model_(c.model == load_model::open),
      stride_(loops),
      dispatch_timer_(io.get_executor()) {
  if (c.rate) pacer.emplace(*c.rate, index, loops);
  // This loop's share of the pool's floor and cap.
  min_open_ = (c.min_connections + loops - 1 - index) / loops;
  max_open_ = std::max(1u, (c.max_connections + loops - 1 - index) / loops);
}

event_loop::~event_loop() {
  stopping = true;
  schedule_done_ = true;
  backlog_ = 0;  // a connection freed by the poll below must not start a request
  ended_ = true;
  sweep.cancel();
  end_timer.cancel();
  dispatch_timer_.cancel();
  for (auto& c : connections) c.close();
  io.restart();
  io.poll();  // the aborted operations complete now; with `stopping` set they start no others
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
  for (auto& c : connections) c.wake();  // pacing and back-off waits end now
  if (open_model_) {
    // Due but never sent, not requests: the backlog, and what fell due before the stop but was
    // not yet taken into it (a rate beyond what the loop can dispatch).
    if (!schedule_done_) summary.not_sent += due_untaken(clock::now());
    schedule_done_ = true;
    dispatch_timer_.cancel();
    summary.not_sent += backlog_;
    backlog_ = 0;
    late_pending_ = 0;
    maybe_end();
  }
}

std::uint64_t event_loop::due_untaken(clock::time_point now) const {
  auto t = now - start;
  if (cfg.duration.count() > 0) t = std::min<std::chrono::nanoseconds>(t, cfg.duration);
  const std::uint64_t due = cfg.rate->count_before(t);
  const std::uint64_t next = pacer->next_index();
  const std::uint64_t mine = due > next ? (due - next + stride_ - 1) / stride_ : 0;
  return std::min(mine, budget);
}

void event_loop::connection_done() {
  if (--active == 0) {
    ended_ = true;
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
    if (ec || ended_) return;
    if (!stopping && stop_requested.load(std::memory_order_relaxed)) stop_sending();
    const auto now = clock::now();
    for (auto& c : connections) c.expire(now);
    if (open_model_) retire_idle(now);
    publish();
    if (!ended_) arm_sweep();
  });
}

// ---- Open model: the elastic pool on the event loop -------------------------------------
//
// Requests become due on the schedule whatever the server does. A due request goes to an idle
// connection (the most recently used); with none idle, a new connection opens for it, up to
// the cap (flow::elastic_pool's rule: start a worker when a message finds no idle one); at the
// cap it waits, counted late, and the next connection to finish takes it. Its latency runs from
// its due time, so the wait is in it. Connections idle longer than the idle timeout retire,
// down to the floor. The backlog is a count: its items are consecutive in this loop's stride,
// so their due times are recomputed from the schedule and memory stays flat however far
// behind the run falls.

clock::time_point event_loop::take_backlog() {
  const std::uint64_t k = backlog_first_;
  backlog_first_ += stride_;
  --backlog_;
  const std::uint64_t uncovered = backlog_ > connecting_ ? backlog_ - connecting_ : 0;
  late_pending_ = std::min(late_pending_, uncovered);
  return start + *cfg.rate->due(k);
}

// Takes what is due into the backlog, at most `dispatch_batch` items a turn: at a rate far
// above what the machine can send, the backlog would otherwise grow in one loop turn for as
// long as the schedule runs ahead of the clock, and the loop would see no stop, no deadline and
// no response meanwhile. Past the batch it posts itself behind the loop's other work.
void event_loop::dispatch() {
  constexpr unsigned dispatch_batch = 4096;
  const auto now = clock::now();
  bool more_due = false;
  for (unsigned taken = 0; !schedule_done_; ++taken) {
    const auto offset = pacer->peek();
    if (!offset || budget == 0 || stopping ||
        (cfg.duration.count() > 0 && *offset >= cfg.duration)) {
      schedule_done_ = true;
      break;
    }
    if (start + *offset > now) break;
    if (taken == dispatch_batch) {
      more_due = true;
      break;
    }
    if (backlog_ == 0) backlog_first_ = pacer->next_index();
    pacer->take();
    --budget;
    ++backlog_;
  }
  assign();
  if (more_due) {
    asio::post(io, [this] {
      if (!schedule_done_) dispatch();
    });
  } else if (!schedule_done_) {
    dispatch_timer_.expires_at(start + *pacer->peek());
    dispatch_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) dispatch();
    });
  }
  maybe_end();
}

void event_loop::assign() {
  while (backlog_ > 0 && !idle_.empty()) {
    connection* c = idle_.back();
    idle_.pop_back();
    c->run(take_backlog());
  }
  while (backlog_ > connecting_ && open_ < max_open_) open_one();
  const std::uint64_t uncovered = backlog_ > connecting_ ? backlog_ - connecting_ : 0;
  if (uncovered > late_pending_) summary.late += uncovered - late_pending_;
  late_pending_ = uncovered;
}

void event_loop::open_one() {
  connection* c = nullptr;
  if (!spare_.empty()) {
    c = spare_.back();
    spare_.pop_back();
  } else {
    c = &connections.emplace_back(*this);
  }
  ++open_;
  ++connecting_;
  c->open();
}

void event_loop::connection_ready(connection& c) {
  --connecting_;
  connection_free(c);
}

void event_loop::connection_free(connection& c) {
  if (backlog_ > 0) return c.run(take_backlog());
  if (!c.is_open()) {  // closed by the server or by an error: release it
    --open_;
    spare_.push_back(&c);
  } else {
    c.went_idle(clock::now());
    idle_.push_back(&c);
  }
  maybe_end();
}

void event_loop::connection_failed(connection& c, stats::error_kind kind, bool had_request) {
  if (!had_request) {
    --connecting_;
    // The connection was opened for a due request: that request fails with it, so that a
    // server that refuses connections costs one error per due request, not a connect storm.
    if (backlog_ > 0) {
      take_backlog();
      summary.record_error(kind);
      publish();
    }
  }
  --open_;
  spare_.push_back(&c);
  assign();
  maybe_end();
}

void event_loop::retire_idle(clock::time_point now) {
  // idle_ is oldest first; retire from the front while above the floor.
  std::size_t n = 0;
  while (n < idle_.size() && open_ > min_open_ && idle_[n]->idle_since + cfg.idle_timeout <= now) {
    idle_[n]->close();
    spare_.push_back(idle_[n]);
    --open_;
    ++summary.connections_retired;
    ++n;
  }
  idle_.erase(idle_.begin(), idle_.begin() + static_cast<std::ptrdiff_t>(n));
}

void event_loop::maybe_end() {
  if (ended_ || !schedule_done_ || backlog_ > 0 || connecting_ > 0 || idle_.size() != open_) return;
  ended_ = true;
  for (connection* c : idle_) c->close();  // the workers' `after`
  idle_.clear();
  open_ = 0;
  sweep.cancel();
  end_timer.cancel();
  dispatch_timer_.cancel();
}

void event_loop::run(unsigned n) {
  // Also the latency of a stop request: at most 50 ms.
  sweep_interval = std::clamp<std::chrono::nanoseconds>(
      cfg.timeout / 10, std::chrono::milliseconds(1), std::chrono::milliseconds(50));
  arm_sweep();
  // -z is a time limit in both models: at its end sending stops, requests in flight get at most
  // -t, and (open model) due requests still waiting for a connection are not sent.
  if (cfg.duration.count() > 0) {
    end_timer.expires_at(start + cfg.duration);
    end_timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) stop_sending();
    });
  }
  if (open_model_) {
    for (unsigned i = 0; i < min_open_; ++i) open_one();
    dispatch();
  } else {
    for (unsigned i = 0; i < n; ++i) connections.emplace_back(*this);
    active = n;
    for (auto& c : connections) c.start();
  }
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
    for (auto& t : impl_->threads) t.join();
  }
}

result<void> load_test::resolve() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(impl_->cfg.host, impl_->cfg.port, ec);
  const std::string host = "cannot resolve '" + printable(impl_->cfg.host) + "': ";
  if (ec) return failure{host + ec.message()};
  impl_->endpoints.clear();
  for (const auto& r : results) impl_->endpoints.push_back(r.endpoint());
  if (impl_->endpoints.empty()) return failure{host + "no addresses"};
  return {};
}

void load_test::start() {
  auto& s = *impl_;
  if (s.endpoints.empty()) throw std::logic_error("load_test::start before a successful resolve");
  if (s.cfg.model == load_model::open && !s.cfg.rate)
    throw std::logic_error("the open model needs a rate schedule");
  const unsigned conns =
      std::max(1u, s.cfg.model == load_model::open ? s.cfg.max_connections : s.cfg.connections);
  unsigned n = std::max(1u, std::min(s.cfg.threads, conns));
  // A paced closed run gives every loop the same share of the schedule, so every loop needs the
  // same number of connections: use the most loops that divide them evenly.
  if (s.cfg.rate && s.cfg.model == load_model::closed)
    while (conns % n != 0) --n;
  s.start = detail::clock::now();
  auto share = [&](unsigned i) { return conns / n + (i < conns % n ? 1 : 0); };
  std::uint64_t before = 0;  // connections of the loops before loop i
  for (unsigned i = 0; i < n; ++i) {
    std::uint64_t budget = std::numeric_limits<std::uint64_t>::max();
    if (s.cfg.requests > 0 && s.cfg.rate) {
      // Paced: loop i takes requests i, i + n, ... of the schedule (flow::pacer's stride).
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
    s.loops.push_back(
        std::make_unique<detail::event_loop>(s.cfg, s.endpoints, i, n, s.start, budget));
  }
  for (unsigned i = 0; i < n; ++i) {
    const unsigned share_i = share(i);
    s.threads.emplace_back([this, i, share_i] {
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
  }
  p.elapsed = detail::clock::now() - impl_->start;
  return p;
}

stats::summary load_test::join() {
  for (auto& t : impl_->threads) t.join();
  impl_->joined = true;
  if (impl_->failure) std::rethrow_exception(impl_->failure);
  stats::summary total;
  for (const auto& l : impl_->loops) total.merge(l->summary);
  return total;
}

}  // namespace hit::http

// The event loop of one engine thread: its deadline sweep, its stop, and the open model's
// elastic pool of connections (dispatch, assign, retire). See detail/event_loop.hpp.

#include "detail/event_loop.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

namespace hit::http::detail {

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
  rule_.min = (c.min_connections + loops - 1 - index) / loops;
  rule_.max = std::max(1u, (c.max_connections + loops - 1 - index) / loops);
  rule_.idle_timeout = c.idle_timeout;
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
  // Items that no connection, idle or opening, will take open connections (flow::scaling_rule).
  for (auto n = rule_.to_start(backlog_ > connecting_ ? backlog_ - connecting_ : 0, open_); n > 0;
       --n)
    open_one();
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
  while (n < idle_.size() && rule_.retires(idle_[n]->idle_since, now, open_)) {
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
    for (std::size_t i = 0; i < rule_.min; ++i) open_one();
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

}  // namespace hit::http::detail

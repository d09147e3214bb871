// The event loop of one engine thread: its deadline sweep, its stop, and the closed model's
// hand-out of requests; the open model's is open_pool's. See detail/event_loop.hpp.

#include "detail/event_loop.hpp"

#include <algorithm>

#include "detail/open_pool.hpp"
#include "detail/splitmix64.hpp"

namespace hit::http::detail {

event_loop::event_loop(const load_config& c, const run_plan& plan, unsigned index, unsigned loops,
                       clock::time_point t0, std::uint64_t budget_)
    : cfg(c),
      endpoints(plan.endpoints),
      local_address(plan.local_address),
      server_name(plan.server_name),
      requests(plan.requests),
      slots(plan.slots),
      tunnel(plan.tunnel),
      tls(plan.tls.get()),
      io(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE),
      start(t0),
      budget(budget_),
      sweep(io.get_executor()),
      end_timer(io.get_executor()) {
  // Loop i of shard s of N takes requests s + N*i, s + N*(i + loops), ... of the global schedule.
  if (c.rate)
    pacer.emplace(*c.rate, c.shard_index + std::uint64_t{c.shard_count} * index,
                  std::uint64_t{c.shard_count} * loops);
  // The loops share the timeline's memory budget (merged after join, they add up).
  if (c.interval.count() > 0)
    summary.timeline.enable(c.interval, stats::timeline::default_budget / loops);
  if (c.interval.count() > 0 && c.live) {
    live = std::make_unique<stats::timeline>();
    live->enable(c.interval);
    summary.live = live.get();
  }
  if (c.model == load_model::open) pool_ = std::make_unique<open_pool>(*this, index, loops);
  // Targets: loop g of the whole run (all shards) starts its generator at a hash of the run's
  // seed and g. (Not at seed + g * increment: the loops' sequences would be one sequence,
  // shifted by a step, and pick the same targets in lockstep.) Round robin: aim().
  summary.by_target.resize(plan.breakdown);
  const std::uint64_t g = c.shard_index + std::uint64_t{c.shard_count} * index;
  rng_ = mix64(c.seed ^ mix64(g + 1));
  template_random = mix64(rng_ ^ 0x7e3b1a2c5d4f6e8bULL);
  for (const auto& r : requests)
    if (r.varies) template_size = std::max(template_size, r.varies->max_size());
}

std::uint32_t event_loop::next_target() noexcept {
  const auto n = static_cast<std::uint32_t>(requests.size());
  if (n == 1) return 0;
  if (cfg.order == target_order::round_robin) {
    const auto t = cursor_;
    cursor_ += step_;
    if (cursor_ >= n) cursor_ -= n;
    return t;
  }
  // splitmix64, then a multiply-shift of its top 32 bits to [0, n): no division, and a bias
  // below n / 2^32 (n <= 10^6).
  const std::uint64_t z = next_random(rng_);
  return static_cast<std::uint32_t>(((z >> 32) * n) >> 32);
}

event_loop::~event_loop() {
  stopping = true;
  if (pool_) pool_->shut_down();
  ended = true;
  sweep.cancel();
  end_timer.cancel();
  for (auto& c : connections) {
    c.wake();  // no wait may outlive the loop (a handshake-slot wait never expires by itself)
    c.close();
  }
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
  if (pool_) pool_->stop();
}

void event_loop::resend(in_flight rec, stats::error_kind again, bool any_connection) {
  if (rec.retried) {
    record_error(again, rec);
    publish();
    return;
  }
  rec.retried = true;
  rec.refused_at = any_connection ? 0 : connects + 1;
  ++summary.retries;
  resends.push_back(rec);
}

std::optional<in_flight> event_loop::take_resend(std::uint64_t number) {
  if (!resend_for(number)) return std::nullopt;
  const auto rec = resends.front();
  resends.pop_front();
  return rec;
}

void event_loop::worker_free(connection& c) {
  if (pool_) return pool_->free(c);
  if (auto rec = take_resend(c.number())) return c.run(*rec);
  c.take(take_request());
}

void event_loop::worker_ready(connection& c) {
  if (pool_) pool_->ready(c);
}

void event_loop::worker_failed(connection& c, stats::error_kind kind, bool had_request,
                               std::chrono::milliseconds wait) {
  if (pool_) return pool_->failed(c, kind, had_request);
  c.retry_after(wait);
}

void event_loop::handshake_done() {
  --handshakes;
  if (ended) return;
  while (!handshake_queue.empty()) {
    connection* c = handshake_queue.front();
    handshake_queue.pop_front();
    if (c->wake_for_handshake()) {
      ++handshakes;  // its slot, taken now so that no other is woken for it
      return;
    }
  }
}

void event_loop::worker_done() {
  if (--active == 0) end();
}

void event_loop::end() {
  ended = true;
  sweep.cancel();
  end_timer.cancel();
}

// Checks deadlines and stop requests every `sweep_interval` rather than arming a timer per
// request: a timer per request would cost a timerfd syscall each time the earliest deadline
// moves.
void event_loop::arm_sweep() {
  sweep.expires_after(sweep_interval);
  sweep.async_wait([this](const boost::system::error_code& ec) {
    if (ec || ended) return;
    if (!stopping && stop_requested.load(std::memory_order_relaxed)) stop_sending();
    const auto now = clock::now();
    // Errors land in the interval current at the last advance: at most one sweep late.
    summary.advance(now - start);
    publish_live(false);
    for (auto& c : connections) c.expire(now);
    if (pool_) pool_->retire_idle(now);
    publish();
    publish_outcomes();
    if (!ended) arm_sweep();
  });
}

void event_loop::publish_live(bool last) {
  if (!live) return;
  if (last) live->finish();
  auto closed = live->take_intervals();
  const std::lock_guard lock(mailbox.m);
  for (auto& r : closed) mailbox.closed.push_back(std::move(r));
  mailbox.through = live->current_index();
  mailbox.finished = last;
  mailbox.ended = summary.elapsed;
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
  if (pool_) {
    pool_->start();
  } else {
    for (unsigned i = 0; i < n; ++i) connections.emplace_back(*this);
    active = n;
    for (auto& c : connections) c.start();
  }
  io.run();
  summary.elapsed = clock::now() - start;
  summary.timeline.finish();
  publish_live(true);
  publish();
  publish_outcomes();
}

void event_loop::publish_outcomes() noexcept {
  for (std::size_t c = 0; c < stats::status_class_count; ++c)
    published.status_classes[c].store(summary.status_class_total(c), std::memory_order_relaxed);
  for (std::size_t k = 0; k < stats::error_kind_count; ++k)
    published.errors_by_kind[k].store(summary.error_counts[k], std::memory_order_relaxed);
}

}  // namespace hit::http::detail

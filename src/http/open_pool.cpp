// The open model's elastic pool on one event loop. See detail/open_pool.hpp.

#include "detail/open_pool.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "detail/event_loop.hpp"

namespace hit::http::detail {

open_pool::open_pool(event_loop& loop, unsigned index, unsigned loops)
    : loop_(loop),
      stride_(loop.pacer->stride()),
      // (--http auto: a connection may turn out to speak HTTP/1.1, one request at a time.)
      streams_(loop.cfg.http == http_version::http2 ? std::max(1u, loop.cfg.streams) : 1),
      dispatch_timer_(loop.io.get_executor()) {
  const auto& c = loop.cfg;
  // This loop's share of the pool's floor and cap.
  rule_.min = (c.min_connections + loops - 1 - index) / loops;
  rule_.max = std::max(1u, (c.max_connections + loops - 1 - index) / loops);
  rule_.idle_timeout = c.idle_timeout;
}

void open_pool::start() {
  for (std::size_t i = 0; i < rule_.min; ++i) open_one();
  dispatch();
}

void open_pool::stop() {
  // Due but never sent, not requests: the backlog, and what fell due before the stop but was
  // not yet taken into it (a rate beyond what the loop can dispatch).
  if (!schedule_done_) loop_.summary.not_sent += due_untaken(clock::now());
  schedule_done_ = true;
  dispatch_timer_.cancel();
  loop_.summary.not_sent += backlog_;
  backlog_ = 0;
  late_pending_ = 0;
  maybe_end();
}

void open_pool::shut_down() {
  schedule_done_ = true;
  backlog_ = 0;  // a connection freed by the loop's last poll must not start a request
  dispatch_timer_.cancel();
}

std::uint64_t open_pool::due_untaken(clock::time_point now) const {
  const auto& cfg = loop_.cfg;
  auto t = now - loop_.start;
  if (cfg.duration.count() > 0) t = std::min<std::chrono::nanoseconds>(t, cfg.duration);
  const std::uint64_t due = cfg.rate->count_before(t);
  const std::uint64_t next = loop_.pacer->next_index();
  const std::uint64_t mine = due > next ? (due - next + stride_ - 1) / stride_ : 0;
  return std::min(mine, loop_.budget);
}

clock::time_point open_pool::take_backlog() {
  const std::uint64_t k = backlog_first_;
  backlog_first_ += stride_;
  --backlog_;
  const std::uint64_t uncovered = backlog_ > connecting_ ? backlog_ - connecting_ : 0;
  late_pending_ = std::min(late_pending_, uncovered);
  return loop_.start + *loop_.cfg.rate->due(k);
}

// Takes what is due into the backlog, at most `dispatch_batch` items a turn: at a rate far
// above what the machine can send, the backlog would otherwise grow in one loop turn for as
// long as the schedule runs ahead of the clock, and the loop would see no stop, no deadline and
// no response meanwhile. Past the batch it posts itself behind the loop's other work.
void open_pool::dispatch() {
  constexpr unsigned dispatch_batch = 4096;
  auto& pacer = *loop_.pacer;
  const auto& cfg = loop_.cfg;
  const auto now = clock::now();
  bool more_due = false;
  for (unsigned taken = 0; !schedule_done_; ++taken) {
    const auto offset = pacer.peek();
    if (!offset || loop_.budget == 0 || loop_.stopping ||
        (cfg.duration.count() > 0 && *offset >= cfg.duration)) {
      schedule_done_ = true;
      break;
    }
    if (loop_.start + *offset > now) break;
    if (taken == dispatch_batch) {
      more_due = true;
      break;
    }
    if (backlog_ == 0) backlog_first_ = pacer.next_index();
    pacer.take();
    --loop_.budget;
    ++backlog_;
  }
  assign();
  if (more_due) {
    asio::post(loop_.io, [this] {
      if (!schedule_done_) dispatch();
    });
  } else if (!schedule_done_) {
    dispatch_timer_.expires_at(loop_.start + *pacer.peek());
    dispatch_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) dispatch();
    });
  }
  maybe_end();
}

void open_pool::assign() {
  // Resends first, then the backlog, to idle connections: the newest first; an HTTP/2
  // connection stays at the back while it has a free stream.
  while (!idle_.empty() && (backlog_ > 0 || loop_.resend_for(idle_.back()->number()))) {
    connection* c = idle_.back();
    if (!c->can_take() || !c->multiplexed()) {
      idle_.pop_back();
      c->listed = false;
      if (!c->can_take()) continue;
    }
    give(*c);
  }
  // Resends no idle connection may take: a new connection takes them (below, as backlog).
  const std::uint64_t backlog = backlog_ + loop_.resends.size();
  // Items that no connection, idle or opening, will take open connections (flow::scaling_rule):
  // over HTTP/2, one for every `streams` of them.
  const std::uint64_t covered = std::uint64_t{connecting_} * streams_;
  const std::uint64_t uncovered = backlog > covered ? backlog - covered : 0;
  for (auto n = rule_.to_start((uncovered + streams_ - 1) / streams_, open_); n > 0; --n)
    open_one();
  const std::uint64_t waiting = backlog_ > connecting_ ? backlog_ - connecting_ : 0;
  if (waiting > late_pending_) loop_.summary.late += waiting - late_pending_;
  late_pending_ = waiting;
}

// One request for `c`: a resend it may send first, else the oldest due one.
void open_pool::give(connection& c) {
  if (auto rec = loop_.take_resend(c.number())) return c.run(*rec);
  c.run(take_backlog());
}

void open_pool::open_one() {
  connection* c = nullptr;
  if (!spare_.empty()) {
    c = spare_.back();
    spare_.pop_back();
  } else {
    c = &loop_.connections.emplace_back(loop_);
  }
  ++open_;
  ++connecting_;
  c->open();
}

void open_pool::ready(connection& c) {
  --connecting_;
  free(c);
}

void open_pool::free(connection& c) {
  if (!c.is_open() && c.listed) unlist(c);
  if ((backlog_ > 0 || loop_.resend_for(c.number())) && c.can_take()) return give(c);
  if (!c.is_open()) {  // closed by the server or by an error: release it
    --open_;
    spare_.push_back(&c);
  } else if (!c.listed) {
    c.went_idle(clock::now());
    c.listed = true;
    idle_.push_back(&c);
  } else if (!c.busy()) {
    c.idle_since = clock::now();  // its last stream ended
  }
  maybe_end();
}

void open_pool::unlist(connection& c) {
  idle_.erase(std::find(idle_.begin(), idle_.end(), &c));
  c.listed = false;
}

void open_pool::failed(connection& c, stats::error_kind kind, bool had_request) {
  if (!had_request) {
    --connecting_;
    // The connection was opened for a due request: that request fails with it, so that a
    // server that refuses connections costs one error per due request, not a connect storm.
    if (backlog_ > 0) {
      take_backlog();
      loop_.record_error(kind, loop_.fresh({}));  // (it never had a record: it gets a target)
      loop_.publish();
    }
  }
  --open_;
  spare_.push_back(&c);
  assign();
  maybe_end();
}

void open_pool::retire_idle(clock::time_point now) {
  // Idle connections (no request in flight) idle longer than the timeout, while above the
  // floor; idle_ is oldest first for HTTP/1.1.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < idle_.size(); ++i) {
    connection* c = idle_[i];
    if (!c->busy() && rule_.retires(c->idle_since, now, open_)) {
      c->listed = false;
      c->close();
      spare_.push_back(c);
      --open_;
      ++loop_.summary.connections_retired;
    } else {
      idle_[kept++] = c;
    }
  }
  idle_.resize(kept);
}

void open_pool::maybe_end() {
  if (loop_.ended || !schedule_done_ || backlog_ > 0 || connecting_ > 0 || idle_.size() != open_ ||
      !loop_.resends.empty())
    return;
  for (connection* c : idle_)
    if (c->busy()) return;
  for (connection* c : idle_) {  // the workers' `after`
    c->listed = false;
    c->close();
  }
  idle_.clear();
  open_ = 0;
  dispatch_timer_.cancel();
  loop_.end();
}

}  // namespace hit::http::detail

#pragma once
// open_pool: the open model's elastic pool of connections on one event loop (docs/open-model.md).
//
// Requests become due on the schedule whatever the server does. A due request goes to an idle
// connection (the most recently used; over HTTP/2, one with a free stream, which stays idle-listed
// while it has one); with none, a new connection opens for it (HTTP/2: one per --streams due
// requests), up to the cap (flow::scaling_rule, the rule elastic_pool's threads follow too); at the
// cap it waits, counted late, and the next connection to finish takes it. Its latency runs from its
// due time, so the wait is in it. Connections idle longer than the idle timeout retire, down to the
// floor. The backlog is a count: its items are consecutive in this loop's stride, so their due
// times are recomputed from the schedule and memory stays flat however far behind the run falls.
//
// Thread safety: none; the loop's thread only.

#include <cstdint>
#include <vector>

#include "detail/connection.hpp"
#include "hit/flow/scaling_rule.hpp"

namespace hit::http::detail {

struct event_loop;

class open_pool {
 public:
  // `loops`: the run's loops; this one takes every loops-th item of the schedule.
  open_pool(event_loop& loop, unsigned index, unsigned loops);

  // Opens the floor's connections and starts dispatching.
  void start();
  // Stops taking due requests; those due but unsent are counted in not_sent.
  void stop();
  // The worker interface, for the loop.
  void free(connection& c);
  void ready(connection& c);
  void failed(connection& c, stats::error_kind kind, bool had_request);
  // From the loop's sweep.
  void retire_idle(clock::time_point now);
  // Every connection closes and stops (the loop's destructor).
  void shut_down();

 private:
  void dispatch();
  void assign();
  void give(connection& c);
  void unlist(connection& c);
  void open_one();
  void maybe_end();
  clock::time_point take_backlog();
  // Items of this loop's stride due before `now` (and before -z) not yet in the backlog.
  [[nodiscard]] std::uint64_t due_untaken(clock::time_point now) const;

  event_loop& loop_;
  std::uint64_t stride_;             // the pacer's: loops times shards
  unsigned streams_;                 // requests one connection carries at once (HTTP/2: --streams)
  timer_type dispatch_timer_;        // fires when the next request is due
  std::vector<connection*> idle_;    // oldest first; reuse takes the newest
  std::vector<connection*> spare_;   // closed connection objects, reused before new ones
  std::uint64_t backlog_first_ = 0;  // global index of the oldest due, unsent request
  std::uint64_t backlog_ = 0;        // due, unsent requests (consecutive items of the stride)
  std::uint64_t late_pending_ = 0;   // of those, already counted as late
  unsigned open_ = 0;                // connections open or opening
  unsigned connecting_ = 0;          // of which opening without a request
  flow::scaling_rule rule_;  // this loop's share of --workers and --max-workers; --idle-timeout
  bool schedule_done_ = false;
};

}  // namespace hit::http::detail

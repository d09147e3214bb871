#pragma once
// collect(results, init, merge): the last stage, run on the caller's thread — a fold of every
// result into one summary (the Go seed merges Results into requests, errors, RPS, fastest,
// slowest...; the summary type here is the caller's).
//
// When the results channel closes (everything upstream finished) or `st` is stopped, collect
// stops the chain, joins every thread of it, and returns the summary with the chain's totals, so
//   merged + not_processed + results_dropped == items produced
// holds on every path, cancelled or not.
//
// Thread safety: blocks the calling thread until the chain ends or `st` is stopped; merge runs
// on that thread only.

#include <cstdint>
#include <exception>
#include <functional>
#include <stop_token>
#include <utility>
#include <vector>

#include "hit/flow/stage.hpp"

namespace hit::flow {

template <class Acc>
struct collected {
  Acc value;                          // the fold of every merged result
  std::uint64_t merged = 0;           // results merged into value
  std::uint64_t not_processed = 0;    // items that never reached dispatch's function
  std::uint64_t results_dropped = 0;  // results made but not merged (cancel)
  bool cancelled = false;             // stopped before the chain finished by itself
  std::exception_ptr error;           // first exception of a user callback, if any
};

// merge is called as merge(Acc&, R&&).
template <class R, class Acc, class Merge>
collected<Acc> collect(stage<R> in, Acc init, Merge merge, std::stop_token st = {},
                       std::size_t batch = 1024) {
  collected<Acc> out{std::move(init), 0, 0, 0, false, nullptr};
  auto& results = in.output();
  std::vector<R> buf;
  buf.reserve(batch);
  channel_status s = channel_status::ok;
  while ((s = results.recv_batch(buf, batch, st)) == channel_status::ok) {
    for (auto& r : buf) std::invoke(merge, out.value, std::move(r));
    out.merged += buf.size();
    buf.clear();
  }
  std::uint64_t unmerged = 0;
  if (s != channel_status::closed) {
    out.cancelled = true;
    in.request_stop();
    unmerged = detail::close_and_drain(results);
  }
  const stage_report rep = in.join();
  // Results a worker sent after the drain above cannot exist: the drain closed the channel.
  out.not_processed = rep.not_processed;
  out.results_dropped = rep.results_dropped + unmerged;
  out.error = rep.error;
  if (out.error || st.stop_requested()) out.cancelled = true;
  return out;
}

}  // namespace hit::flow

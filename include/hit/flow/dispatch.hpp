#pragma once
// dispatch(in, concurrency, fn): fans a stage out to `concurrency` worker threads, each calling
// fn(item) and emitting its result, like the Go seed's dispatch(in, concurrency, send). The
// results channel is closed when every worker has finished.
//
// Each worker calls its own copy of fn, so fn may keep per-worker state (a connection, a random
// generator) without locking. A worker takes a fair share of the backlog per lock acquisition —
// backlog / concurrency, at least 1, at most options.batch — so batching amortises the lock when
// the queue is long and never starves other workers when it is short. An exception escaping fn
// stops the stage (recorded in the report); turn expected failures into result values instead.
//
// Thread safety: fn runs on the stage's workers; caller: any thread; returns at once.
// Cancellation: a worker stops between two items; items it took but did not process, and those
// left in its input, count as not processed; results it could not deliver count as dropped.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>
#include <vector>

#include "hit/flow/stage.hpp"

namespace hit::flow {

template <class T, class Fn>
stage<std::invoke_result_t<Fn&, T&&>> dispatch(stage<T> in, std::size_t concurrency, Fn fn,
                                               std::stop_token st = {}, stage_options opt = {}) {
  using R = std::invoke_result_t<Fn&, T&&>;
  if (concurrency == 0) throw std::invalid_argument("dispatch: concurrency must be >= 1");
  auto input = in.output_ptr();
  auto out = std::make_shared<channel<R>>(opt.capacity);
  auto core = std::make_unique<detail::stage_core>(st, std::move(in).release_core());
  auto* c = core.get();
  auto running = std::make_shared<std::atomic<std::size_t>>(concurrency);
  const std::size_t batch = std::max<std::size_t>(opt.batch, 1);
  for (std::size_t w = 0; w < concurrency; ++w) {
    core->spawn([input, out, c, running, concurrency, batch, fn](std::stop_token tok) mutable {
      std::vector<T> items;
      std::vector<R> results;
      items.reserve(batch);
      results.reserve(batch);
      std::uint64_t not_processed = 0;
      std::uint64_t dropped = 0;
      bool stopped_early = true;
      for (;;) {
        items.clear();
        const std::size_t share = std::clamp<std::size_t>(input->size() / concurrency, 1, batch);
        const auto s = input->recv_batch(items, share, tok);
        if (s == channel_status::closed) stopped_early = false;
        if (s != channel_status::ok) break;
        results.clear();
        bool threw = false;
        for (std::size_t i = 0; i < items.size() && !tok.stop_requested(); ++i) {
          try {
            results.push_back(std::invoke(fn, std::move(items[i])));
          } catch (...) {
            // The item fn threw on was taken but yields no result: not processed.
            c->fail(std::current_exception());
            threw = true;
            break;
          }
        }
        not_processed += items.size() - results.size();
        const auto r = out->send_batch(results, tok);
        dropped += results.size() - r.sent;
        if (r.status != channel_status::ok || threw || results.size() < items.size()) break;
      }
      if (stopped_early) not_processed += detail::close_and_drain(*input);
      c->not_processed += not_processed;
      c->results_dropped += dropped;
      if (running->fetch_sub(1) == 1) out->close();
    });
  }
  return stage<R>(std::move(out), std::move(core));
}

}  // namespace hit::flow

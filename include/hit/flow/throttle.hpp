#pragma once
// throttle(in, schedule): a stage that releases items no earlier than a rate_schedule says.
//
// One throttle paces the whole stream, before dispatch fans it out: the rate is global, not per
// worker. Item k is released at start + schedule.due(k), an absolute deadline, so the time spent
// sending never accumulates as drift (the Go seed sleeps a tick after each item). When the rate
// is higher than the timer can tick, a wake-up releases every item whose deadline has passed in
// one batch, so 1 M items/s needs no 1 µs sleeps; no item is ever released early. An item that
// arrives late (a slow producer) is released at once: the schedule is an open model and does not
// slow down to hide the delay. A finite schedule ends the stage when it runs out; the items left
// then count as not processed.
//
// Uses rate_schedule and pacer, the same pacing code as the HTTP engine.
//
// Thread safety: runs on one thread of its own. Caller: any thread; returns at once.

#include <chrono>
#include <memory>
#include <stop_token>
#include <utility>
#include <vector>

#include "hit/flow/rate_schedule.hpp"
#include "hit/flow/stage.hpp"

namespace hit::flow {

template <class T>
stage<T> throttle(stage<T> in, rate_schedule schedule, std::stop_token st = {},
                  stage_options opt = {}) {
  auto input = in.output_ptr();
  auto out = std::make_shared<channel<T>>(opt.capacity);
  auto core = std::make_unique<detail::stage_core>(st, std::move(in).release_core());
  auto* c = core.get();
  core->spawn([input, out, c, opt, schedule = std::move(schedule)](std::stop_token tok) {
    pacer pace(schedule);
    const auto start = std::chrono::steady_clock::now();
    std::vector<T> pending;  // received, not yet released: [head, size)
    std::vector<T> release;
    std::size_t head = 0;
    std::uint64_t dropped = 0;
    bool stopped_early = true;
    for (;;) {
      if (head == pending.size()) {
        pending.clear();
        head = 0;
        const auto s = input->recv_batch(pending, opt.batch, tok);
        if (s == channel_status::closed) stopped_early = false;
        if (s != channel_status::ok) break;
      }
      const auto now = std::chrono::steady_clock::now();
      release.clear();
      bool schedule_over = false;
      while (head < pending.size()) {
        const auto due = pace.peek();
        if (!due) {
          schedule_over = true;
          break;
        }
        if (start + *due > now) break;
        pace.take();
        release.push_back(std::move(pending[head++]));
      }
      if (!release.empty()) {
        const auto r = out->send_batch(release, tok);
        if (r.status != channel_status::ok) {
          dropped += release.size() - r.sent;
          break;
        }
        continue;
      }
      if (schedule_over) break;
      if (!detail::sleep_until(start + *pace.peek(), tok)) break;
    }
    dropped += pending.size() - head;
    if (stopped_early) dropped += detail::close_and_drain(*input);
    c->not_processed += dropped;
    out->close();
  });
  return stage<T>(std::move(out), std::move(core));
}

// A constant rate, in items per second (> 0).
template <class T>
stage<T> throttle(stage<T> in, double per_second, std::stop_token st = {}, stage_options opt = {}) {
  return throttle(std::move(in), rate_schedule::constant(per_second), std::move(st), opt);
}

}  // namespace hit::flow

#pragma once
// produce(n, make): a stage that emits make(0), make(1), ..., make(n-1) (or make() n times),
// like the Go seed's produce(n, req). Items are made and sent in batches of options.batch.
//
// Thread safety: `make` runs on the stage's own thread only. Cancellation: on stop the stage
// closes its output; items not made or not accepted downstream count as not processed.

#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <type_traits>
#include <vector>

#include "hit/flow/stage.hpp"

namespace hit::flow {

namespace detail {
template <class Make>
auto make_item(Make& make, std::uint64_t i) {
  if constexpr (std::is_invocable_v<Make&, std::uint64_t>) {
    return std::invoke(make, i);
  } else {
    return std::invoke(make);
  }
}
template <class Make>
using produced_t = decltype(make_item(std::declval<Make&>(), std::uint64_t{}));
}  // namespace detail

// Caller: any thread; returns at once. Runs one thread until n items are sent or it is stopped.
template <class Make>
stage<detail::produced_t<Make>> produce(std::uint64_t n, Make make, std::stop_token st = {},
                                        stage_options opt = {}) {
  using T = detail::produced_t<Make>;
  auto out = std::make_shared<channel<T>>(opt.capacity);
  auto core = std::make_unique<detail::stage_core>(st, nullptr);
  auto* c = core.get();
  core->spawn([out, c, n, opt, make = std::move(make)](std::stop_token tok) mutable {
    std::uint64_t made = 0;
    std::uint64_t sent = 0;
    std::vector<T> buf;
    buf.reserve(opt.batch);
    try {
      while (sent < n && !tok.stop_requested()) {
        buf.clear();
        while (buf.size() < opt.batch && made < n) buf.push_back(detail::make_item(make, made++));
        const auto r = out->send_batch(buf, tok);
        sent += r.sent;
        if (r.status != channel_status::ok) break;
      }
    } catch (...) {
      c->fail(std::current_exception());
    }
    c->not_processed += n - sent;
    out->close();
  });
  return stage<T>(std::move(out), std::move(core));
}

}  // namespace hit::flow

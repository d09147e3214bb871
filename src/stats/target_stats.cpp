#include "hit/stats/target_stats.hpp"

namespace hit::stats {

void target_stats::merge(const target_stats& o) noexcept {
  requests += o.requests;
  successes += o.successes;
  errors += o.errors;
  for (std::size_t c = 0; c < status_classes.size(); ++c) status_classes[c] += o.status_classes[c];
  for (std::size_t k = 0; k < error_counts.size(); ++k) error_counts[k] += o.error_counts[k];
  other_codes += o.other_codes;
  for (const auto& [code, n] : o.codes) {
    if (n == 0) break;
    bool placed = false;
    for (auto& [mine, m] : codes) {
      if (mine == code || m == 0) {
        mine = code;
        m += n;
        placed = true;
        break;
      }
    }
    if (!placed) other_codes += n;
  }
  latency.merge(o.latency);
}

}  // namespace hit::stats

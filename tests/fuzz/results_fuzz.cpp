// libFuzzer target: results files (hit report reads files from other machines and other hit
// versions). Whatever the bytes, parse_results either refuses them with a message or returns a
// record every reader can use: the text and JSON reports, the timeline rows, and a merge of the
// record with itself must not crash, hang or allocate without bound.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>

#include "report.hpp"
#include "results_file.hpp"
#include "timeline_view.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = hit::cli::parse_results(text, "fuzz.json");
  if (!r) return 0;
  const hit::cli::run_context ctx{r->options, r->interrupted, false, r->scheduled_rate};
  (void)hit::cli::text_report(r->summary, ctx);
  (void)hit::cli::json_report(r->summary, ctx).dump();
  for (const auto& v : hit::cli::timeline_view(r->summary)) (void)hit::cli::interval_json(v);
  // Merged with itself started later (by an amount the input decides): the alignment, the
  // bounds on the merged span, and the merged rows.
  auto copy = *r;
  copy.start += std::chrono::milliseconds(static_cast<std::int64_t>(size % 100'000) * 37);
  auto m = hit::cli::merge_results({std::move(*r), std::move(copy)});
  if (m)
    for (const auto& v : hit::cli::timeline_view(m->summary)) (void)hit::cli::interval_line(v);
  return 0;
}

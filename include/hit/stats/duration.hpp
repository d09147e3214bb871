#pragma once
// Durations as people write and read them: "250ms", "10s", "1m30s", "2h"; "1.5s"; "0".

#include <chrono>
#include <string>
#include <string_view>

#include "hit/result.hpp"

namespace hit::stats {

// Parses a sequence of <number><unit> with units ns, us, ms, s, m, h (Go's time.ParseDuration
// grammar, no sign). A bare number uses `bare_unit`. Anything else, or more than ~285 years, is
// a failure whose message quotes the text.
result<std::chrono::nanoseconds> parse_duration(
    std::string_view text, std::chrono::nanoseconds bare_unit = std::chrono::seconds(1));

// Formats with a unit chosen for readability and three significant digits: "812us",
// "12.3ms", "1.25s", "2m05s"; zero (or less) is "0s".
std::string format_duration(std::chrono::nanoseconds d);
std::string format_duration_ns(double ns);

}  // namespace hit::stats

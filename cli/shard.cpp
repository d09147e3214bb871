#include "shard.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "hit/printable.hpp"

namespace hit::cli {
namespace {

// A whole number in decimal, nothing else; nullopt otherwise.
std::optional<std::uint64_t> whole(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  std::uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string quoted(std::string_view text) {
  return fmt::format("'{}'", printable(text));
}

struct engine {
  const char* name;   // for messages
  const char* index;  // its variables
  const char* count;
  // Whether one variable without the other is an error, or means the process was not started
  // as one of the engine's tasks.
  bool both_or_error;
};

// In order of precedence: mpirun inside a Slurm allocation sets both Open MPI's variables and
// (from the allocation) Slurm's; the process's rank among mpirun's is the one that counts.
// Slurm's count is the job step's (SLURM_STEP_NUM_TASKS, set by srun): a batch script, and every
// command it runs outside srun, has SLURM_PROCID=0 and the allocation's SLURM_NTASKS too, and
// would otherwise run a quarter of the load as "shard 0 of 4".
constexpr std::array<engine, 3> engines{{
    {"Open MPI", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", true},
    {"PMI", "PMI_RANK", "PMI_SIZE", true},
    {"Slurm", "SLURM_PROCID", "SLURM_STEP_NUM_TASKS", false},
}};

result<unsigned> count_from(std::string_view text, const std::string& where) {
  const auto n = whole(text);
  if (!n || *n < 1 || *n > max_shards)
    return failure{fmt::format("{} wants a shard count from 1 to {}, got {}", where, max_shards,
                               quoted(text))};
  return static_cast<unsigned>(*n);
}

result<shard_id> make(std::string_view index_text, unsigned count, std::string source,
                      const std::string& index_where) {
  const auto i = whole(index_text);
  if (!i)
    return failure{fmt::format("{} wants a whole number, got {}", index_where, quoted(index_text))};
  if (*i >= count)
    return failure{fmt::format("{} is {}: outside the {} shards (0 to {})", index_where, *i, count,
                               count - 1)};
  return shard_id{static_cast<unsigned>(*i), count, std::move(source)};
}

}  // namespace

result<shard_id> detect_shard(const std::optional<std::string>& shard_text,
                              const std::optional<std::string>& shards_text,
                              const environment& env) {
  const auto get = [&](const char* name) -> std::optional<std::string> {
    const char* v = env(name);
    if (v == nullptr || *v == '\0') return std::nullopt;
    return std::string(v);
  };
  // The count given besides the index: --shards, else HIT_SHARDS.
  std::optional<unsigned> count;
  std::string count_where;
  if (shards_text) {
    count_where = "--shards";
    auto c = count_from(*shards_text, count_where);
    if (!c) return failure{c.error()};
    count = *c;
  } else if (const auto h = get("HIT_SHARDS")) {
    count_where = "HIT_SHARDS";
    auto c = count_from(*h, count_where);
    if (!c) return failure{c.error()};
    count = *c;
  }
  const auto agree = [&](shard_id s, const std::string& what) -> result<shard_id> {
    if (count && *count != s.count)
      return failure{
          fmt::format("{} {} disagrees with {}'s {} shards", count_where, *count, what, s.count)};
    return s;
  };

  if (shard_text) {
    const auto slash = shard_text->find('/');
    if (slash == std::string::npos)
      return failure{
          fmt::format("--shard wants I/N (shard I of N, from 0), got {}", quoted(*shard_text))};
    auto n = count_from(std::string_view(*shard_text).substr(slash + 1), "--shard I/N");
    if (!n) return failure{n.error()};
    auto s = make(std::string_view(*shard_text).substr(0, slash), *n, "--shard", "--shard's index");
    if (!s) return s;
    return agree(std::move(*s), "--shard " + printable(*shard_text));
  }
  for (const auto& e : engines) {
    const auto index = get(e.index);
    const auto size = get(e.count);
    if (!index && !size) continue;
    if ((!index || !size) && !e.both_or_error) continue;
    if (!index || !size)
      return failure{fmt::format("{} is set but {} is not: cannot tell this {} process's shard",
                                 index ? e.index : e.count, index ? e.count : e.index, e.name)};
    auto n = count_from(*size, e.count);
    if (!n) return failure{n.error()};
    auto s = make(*index, *n, e.name, e.index);
    if (!s) return s;
    return agree(std::move(*s), e.name);
  }
  if (const auto k8s = get("JOB_COMPLETION_INDEX")) {
    if (!count)
      return failure{
          "JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job) but not the shard count: give "
          "--shards N or HIT_SHARDS=N (the Job's completions), or --shard 0/1 to run unsharded"};
    return make(*k8s, *count, "Kubernetes", "JOB_COMPLETION_INDEX");
  }
  if (count == 1u) return shard_id{};  // one shard of one: unsharded
  if (count)
    return failure{fmt::format(
        "{} {} needs each process's index: --shard I/{}, or start hit under mpirun, srun or a "
        "Kubernetes Indexed Job",
        count_where, *count, *count)};
  return shard_id{};
}

std::string expand_shard(std::string_view path, const shard_id& s) {
  constexpr std::string_view token = "{shard}";
  std::string out;
  std::size_t pos = 0;
  for (auto at = path.find(token); at != std::string_view::npos; at = path.find(token, pos)) {
    out.append(path.substr(pos, at - pos));
    out += std::to_string(s.index);
    pos = at + token.size();
  }
  out.append(path.substr(pos));
  return out;
}

result<std::chrono::system_clock::time_point> parse_start_time(std::string_view text) {
  using namespace std::chrono;
  const auto bad = [&] {
    return failure{fmt::format(
        "--start-at wants an RFC 3339 time (2026-11-24T10:00:00Z) or Unix seconds, got {}",
        quoted(text))};
  };
  // The digits of text[at, at + n) as a number, or nullopt.
  const auto digits = [&](std::size_t at, std::size_t n) -> std::optional<std::uint64_t> {
    if (at + n > text.size()) return std::nullopt;
    return whole(text.substr(at, n));
  };
  // A fraction's digits from `at`: nanoseconds (digits past the ninth are dropped) and where it
  // ends.
  const auto fraction = [&](std::size_t at) -> std::pair<std::int64_t, std::size_t> {
    std::int64_t ns = 0, scale = 100'000'000;
    std::size_t end = at;
    for (; end < text.size() && text[end] >= '0' && text[end] <= '9'; ++end, scale /= 10)
      ns += (text[end] - '0') * scale;
    return {ns, end};
  };
  // Up to 2^62 ns after 1970 (the year 2116), as results files keep.
  constexpr std::int64_t max_seconds = (std::int64_t{1} << 62) / 1'000'000'000;
  const auto at = [](seconds s, std::int64_t ns) {
    return system_clock::time_point(duration_cast<system_clock::duration>(s + nanoseconds(ns)));
  };

  if (text.size() >= 10 && text[4] == '-') {
    const auto y = digits(0, 4), mo = digits(5, 2), d = digits(8, 2);
    const auto h = digits(11, 2), mi = digits(14, 2), s = digits(17, 2);
    if (!y || !mo || !d || !h || !mi || !s || text[7] != '-' || text.size() < 20 ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || text[13] != ':' ||
        text[16] != ':')
      return bad();
    const year_month_day date{year(static_cast<int>(*y)), month(static_cast<unsigned>(*mo)),
                              day(static_cast<unsigned>(*d))};
    if (!date.ok() || *h > 23 || *mi > 59 || *s > 60) return bad();
    std::size_t pos = 19;
    std::int64_t ns = 0;
    if (text[pos] == '.') {
      const auto [f, end] = fraction(pos + 1);
      if (end == pos + 1) return bad();
      ns = f;
      pos = end;
    }
    seconds offset{0};
    if (pos + 1 == text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
      // UTC
    } else if (pos + 6 == text.size() && (text[pos] == '+' || text[pos] == '-') &&
               text[pos + 3] == ':') {
      const auto oh = digits(pos + 1, 2), om = digits(pos + 4, 2);
      if (!oh || !om || *oh > 23 || *om > 59) return bad();
      offset = hours(*oh) + minutes(*om);
      if (text[pos] == '+') offset = -offset;  // 10:00+01:00 is 09:00Z
    } else {
      return bad();
    }
    const seconds since_epoch =
        sys_days(date).time_since_epoch() + hours(*h) + minutes(*mi) + seconds(*s) + offset;
    if (since_epoch.count() < 0 || since_epoch.count() > max_seconds) return bad();
    return at(since_epoch, ns);
  }
  const auto dot = text.find('.');
  const auto secs = whole(text.substr(0, dot));
  if (!secs || *secs > static_cast<std::uint64_t>(max_seconds)) return bad();
  std::int64_t ns = 0;
  if (dot != std::string_view::npos) {
    const auto [f, end] = fraction(dot + 1);
    if (end == dot + 1 || end != text.size()) return bad();
    ns = f;
  }
  return at(seconds(static_cast<std::int64_t>(*secs)), ns);
}

std::vector<unsigned> shard_set::missing() const {
  std::vector<unsigned> out;
  for (unsigned i = 0; i < count; ++i)
    if (!std::binary_search(present.begin(), present.end(), i)) out.push_back(i);
  return out;
}

std::string index_list(const std::vector<unsigned>& indices) {
  std::string out;
  for (std::size_t i = 0; i < indices.size();) {
    std::size_t j = i;
    while (j + 1 < indices.size() && indices[j + 1] == indices[j] + 1) ++j;
    if (!out.empty()) out += ", ";
    out += j == i ? fmt::format("{}", indices[i]) : fmt::format("{}-{}", indices[i], indices[j]);
    i = j + 1;
  }
  return out;
}

}  // namespace hit::cli

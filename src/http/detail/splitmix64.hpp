#pragma once
// splitmix64 (Steele, Lea and Flood): the engine's small random numbers, from a 64-bit state
// per event loop: the targets' random order and the templates' {{rand}} and {{uuid}}. A few
// instructions per number, no allocation; not for anything that must be unguessable.

#include <cstdint>

namespace hit::http::detail {

// The finaliser: a bijection of 64-bit values that scatters every input bit (also a hash, to
// derive independent states from a seed and a loop's number).
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// The next number of the stream whose state is `state`.
constexpr std::uint64_t next_random(std::uint64_t& state) noexcept {
  return mix64(state += 0x9e3779b97f4a7c15ULL);
}

}  // namespace hit::http::detail

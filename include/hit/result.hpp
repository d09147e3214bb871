#pragma once
// result: the one shape of every fallible setup call in hit (parsing a URL, resolving a host,
// binding a server, raising a limit): a value, or a one-line message saying why not, fit to be
// printed after "hit: ". Hot paths do not use it: they count failures by stats::error_kind.
// Exceptions are kept for broken preconditions. (std::expected when the toolchain has C++23.)
//
//   result<url> u = parse_url(text);
//   if (!u) return fail_with(u.error());
//   use(*u);

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hit {

// Why a setup call failed: one line, no trailing newline, no control characters.
struct failure {
  std::string message;
};

template <class T>
class [[nodiscard]] result {
 public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  result(failure f) : v_(std::in_place_index<1>, std::move(f)) {}    // NOLINT

  [[nodiscard]] bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // Preconditions: ok() for the value, !ok() for the error.
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  [[nodiscard]] const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, failure> v_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(failure f) : error_(std::move(f.message)) {}  // NOLINT: implicit by design

  [[nodiscard]] bool ok() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return ok(); }
  [[nodiscard]] const std::string& error() const { return *error_; }

 private:
  std::optional<std::string> error_;
};

}  // namespace hit

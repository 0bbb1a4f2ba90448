#pragma once
// Errors as values at the I/O boundary. A Result<T> holds either a T or an Error that says what was
// being done, to what, and why it failed (with errno where a syscall failed).

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace memstrain {

/// What went wrong, with enough context for a user to act on it.
struct Error {
  std::string message;
  int sys_errno = 0;  ///< errno of the failing syscall, 0 when not a syscall failure.

  /// Builds "what: strerror(err)" for a failed syscall.
  static Error fromErrno(const std::string& what, int err = errno);
};

/// Either a value or an Error. `ok()` tells which; accessing the wrong side is a programming error.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  /// The value, or `fallback` when this holds an error.
  T valueOr(T fallback) const { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Error> v_;
};

/// Result of an operation with no value: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT(google-explicit-constructor)
  static Status success() { return {}; }

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace memstrain

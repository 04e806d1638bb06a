#pragma once
// The project's one error convention: library code returns Result<T>; only the top layers
// (main, supervisor, control) log. An Error carries the errno (0 when none applies) and a
// message that already names the file or object involved.
#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace climits {

struct Error {
  int code = 0;  // errno value, or 0
  std::string message;

  // "<what>: <strerror(code)>" for a failed system call on a path or object.
  static Error from_errno(int code, const std::string& what);
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(state_); }
  const T& value() const { return std::get<0>(state_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> success() {
  return {};
}

}  // namespace climits

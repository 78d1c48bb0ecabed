// SPDX-License-Identifier: Apache-2.0
#pragma once

// Recoverable errors come back as values; only the CLI turns them into
// messages and exit codes. An Error always says what was being done to which
// object ("reading /proc/42/mountinfo: No such file or directory").

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace mountleak {

struct Error {
  std::string message;
  int errno_value = 0;  // 0 when the error is not a system call failure

  static Error from_errno(std::string context, int err = errno) {
    return Error{std::move(context) + ": " + std::strerror(err), err};
  }
};

template <class T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(v_); }
  const T& value() const { return std::get<T>(v_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<Error>(v_); }

 private:
  std::variant<T, Error> v_;
};

// For operations that produce nothing but can fail.
struct Unit {};
using Status = Result<Unit>;
inline Status ok_status() { return Unit{}; }

}  // namespace mountleak

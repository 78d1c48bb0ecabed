// SPDX-License-Identifier: Apache-2.0
#pragma once

// Checks for option values that parse but mean nothing: a negative or NaN
// duration, an empty device glob, a relative path where the host's is
// meant. CLI11 turns each into an error naming the option (exit status 2).

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace mountleak {

// A finite number of seconds in [0, max_seconds].
CLI::Validator seconds_up_to(double max_seconds);

// Not the empty string (an empty --devices glob matches nothing).
CLI::Validator non_empty(const std::string& what);

// An absolute path ("/..."); relative ones would depend on where mountleak
// was started.
CLI::Validator absolute_path();

// --host-mntns: a positive pid or an absolute path to a namespace file.
CLI::Validator pid_or_absolute_path();

// --log-max-size: 0 (off), or a size from min_bytes to max_bytes. The value
// is rewritten to plain bytes, so it can be stored in an integer.
CLI::Validator byte_size_or_zero(uint64_t min_bytes, uint64_t max_bytes);

// --release-scope: a selector parse_scope_selector() accepts
// (release/release_scope.h), with its reason when not.
CLI::Validator release_scope_selector();

}  // namespace mountleak

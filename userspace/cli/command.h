// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <functional>

namespace mountleak {

// What the chosen subcommand does once the command line is parsed; returns
// the process exit status. Set by the subcommand's parse callback.
using CommandAction = std::function<int()>;

// Exit statuses shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;  // scan: holders/leaks found (like grep)
inline constexpr int kExitError = 2;     // bad input, missing device, kernel refused

}  // namespace mountleak

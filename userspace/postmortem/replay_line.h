// SPDX-License-Identifier: Apache-2.0
#pragma once

// One line of a trace log as replay needs it: a raw kernel event, a
// recorded fact, or a loss of events, with the time it was written. Every
// other line (findings, ready, stats, a torn tail) is not needed: the
// replayed collector makes its own findings.

#include <chrono>
#include <optional>
#include <string_view>
#include <variant>

#include "findings/record.h"
#include "util/result.h"

namespace mountleak {

struct ReplayLine {
  std::chrono::system_clock::time_point time;
  std::variant<KernelEvent, NodeFact, Lost> what;
};

// Nothing (and no error) for a line replay does not need; an error naming
// the field for one it needs but cannot read.
Result<std::optional<ReplayLine>> parse_replay_line(std::string_view text);

// "2026-12-02T12:34:56.123456Z" (output's rfc3339()), checked.
std::optional<std::chrono::system_clock::time_point> parse_log_time(std::string_view text);

}  // namespace mountleak

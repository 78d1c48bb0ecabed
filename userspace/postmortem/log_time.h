// SPDX-License-Identifier: Apache-2.0
#pragma once

// Times in the post-mortem log and on report's command line, as microseconds
// since the Unix epoch (UTC). The log writes RFC 3339 with microseconds and
// "Z" (output/holders_json.h, rfc3339()); an operator may type an offset or
// leave the fraction out. Standard library only, so the log parser stays
// fuzzable on its own.

#include <cstdint>
#include <optional>
#include <string_view>

namespace mountleak {

using LogMicros = int64_t;  // microseconds since 1970-01-01T00:00:00Z

// "2026-12-02T12:32:00.123456Z", "2026-12-02T12:32:00Z",
// "2026-12-02 12:32:00+01:00" (a space for the T, as `date --rfc-3339`
// writes). Nothing else: no local time, no leap second beyond :60.
std::optional<LogMicros> parse_rfc3339(std::string_view text);

// A duration back from `now`: "-90s", "-5m", "-2h", "-1d" (journalctl's
// relative form), or "now".
std::optional<LogMicros> parse_relative_time(std::string_view text, LogMicros now);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Parses one line of the post-mortem log into a LogEntry. The line was
// written by trace, but its strings were chosen by containers and the file
// may have been edited or damaged since: nothing here throws, every field
// is type-checked, a field of the wrong type is treated as absent, and a
// line that is not a JSON object with a string "event" is an error saying
// why (report counts those and goes on). Standard library and nlohmann-json
// only, so it is fuzzed alone (tests/fuzz/fuzz_log_entry.cpp).

#include <string_view>

#include "postmortem/log_entry.h"
#include "util/result.h"

namespace mountleak {

Result<LogEntry> parse_log_entry(std::string_view line);

}  // namespace mountleak

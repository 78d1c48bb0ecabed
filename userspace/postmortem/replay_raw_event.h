// SPDX-License-Identifier: Apache-2.0
#pragma once

// A raw kernel event as the log holds it (output/raw_event_json.h) back
// into the KernelEvent the collector consumes: the inverse of
// raw_event_json(), with every field bounded and checked. A line that is
// not such an event is an error saying which field, never a crash.

#include <string_view>

#include <nlohmann/json.hpp>

#include "model/kernel_event.h"
#include "util/result.h"

namespace mountleak {

// The kind a raw event's "event" names ("mount", "busy_raw", ...); none for
// any other line (findings, recorded facts, ready, stats).
std::optional<EventKind> raw_event_kind(std::string_view name);

Result<KernelEvent> parse_raw_event(const nlohmann::json& line);

// "MS_BIND|MS_REC|0x40" back into bits; nothing for an unknown name.
std::optional<uint64_t> parse_mount_flags(std::string_view text);

}  // namespace mountleak

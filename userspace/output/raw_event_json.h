// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kernel events as JSON lines (`trace --all-events`, and every line of
// `--log`): flags decoded into names, strings cut at their NUL.

#include <linux/types.h>

#include <nlohmann/json.hpp>

#include <string>

#include "mountleak/events.h"

namespace mountleak {

std::string_view event_kind_name(uint32_t kind);
std::string_view busy_source_name(uint32_t source);
// "MS_BIND|MS_REC" etc.; unknown bits as hex.
std::string mount_flags_text(uint64_t flags);
nlohmann::json raw_event_json(const ml_event& e);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kernel events as JSON lines (`trace --all-events`, and every line of
// `--log`): flags decoded into names.

#include <nlohmann/json.hpp>

#include <string>

#include "model/kernel_event.h"

namespace mountleak {

std::string_view event_kind_name(EventKind kind);
std::string_view busy_source_name(BusySource source);
// "MS_BIND|MS_REC" etc.; unknown bits as hex.
std::string mount_flags_text(uint64_t flags);
nlohmann::json raw_event_json(const KernelEvent& e);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The `host_view` section of `ready` and `scan_summary`: how paths are
// named.

#include <nlohmann/json.hpp>

#include "findings/host_layout.h"

namespace mountleak {

// {"host_root", "paths", "kubelet_root": {"configured", "host_path", "device",
//  "seen_as": [...]}}: what findings' paths are relative to.
nlohmann::json host_view_json(const HostLayout& layout);

}  // namespace mountleak

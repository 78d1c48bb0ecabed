// SPDX-License-Identifier: Apache-2.0
#pragma once

// The host layout as findings show it: a bind's host source, and the
// `host_view` section of `ready` and `scan_summary` that says how paths are
// named.

#include <nlohmann/json.hpp>

#include "findings/host_layout.h"

namespace mountleak {

// {"source": host path | null, "source_unknown": why (only when null),
//  "kubelet_root": bool, "mountpoint", "propagation"}
nlohmann::json bind_json(const BindOrigin& origin);

// {"host_root", "paths", "kubelet_root": {"configured", "host_path", "device",
//  "seen_as": [...]}}: what findings' paths are relative to.
nlohmann::json host_view_json(const HostLayout& layout);

}  // namespace mountleak

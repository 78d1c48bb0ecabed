// SPDX-License-Identifier: Apache-2.0
#pragma once

// Tracepoint programs are attached by the tracepoint's id, which lives in
// tracefs. Minimal hosts (and this project's CI) boot without tracefs
// mounted, and mountleak must not mount anything in the host's namespace,
// not even for a moment: so when no tracefs is mounted, the ids are read
// through a detached tracefs mount (fsopen/fsmount), which belongs to no
// namespace, is never visible in any mountinfo, and can hold nothing.
//
// libbpf 1.1 is not let near tracefs: it prefers /sys/kernel/debug/tracing
// whenever debugfs is mounted, and reading through it triggers debugfs's
// tracing automount, which leaves a tracefs mount in the caller's (the
// host's) namespace for good. See attach.h.

#include <string>

#include "util/result.h"

namespace mountleak {

struct TracefsStatus {
  bool available = false;
  // "mounted at /sys/kernel/tracing", "not mounted; ... detached tracefs
  // mount ...", or why tracepoint ids cannot be read and how to fix it.
  std::string detail;
};

// Where tracepoint ids come from: a tracefs already mounted at
// /sys/kernel/tracing or /sys/kernel/debug/tracing, else a detached mount.
// Mounts nothing in any namespace. Decided once per process.
const TracefsStatus& find_tracefs();

// The id of tracepoint CATEGORY/NAME, read where find_tracefs() decided.
Result<int> tracepoint_id(const std::string& category, const std::string& name);

}  // namespace mountleak

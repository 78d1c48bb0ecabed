// SPDX-License-Identifier: Apache-2.0
#pragma once

// Tracepoint programs are attached by the tracepoint's id, which libbpf
// reads from tracefs. Minimal hosts (and this project's CI) boot without
// tracefs mounted; mountleak mounts it where the kernel expects it rather
// than failing with a bare ENOENT.

#include <string>

namespace mountleak {

struct TracefsStatus {
  bool available = false;
  std::string detail;  // "mounted at /sys/kernel/tracing", "mounted by mountleak at ...", or why not
};

TracefsStatus ensure_tracefs();

}  // namespace mountleak

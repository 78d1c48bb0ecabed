// SPDX-License-Identifier: Apache-2.0
#pragma once

// Tracepoint programs are attached by the tracepoint's id, which libbpf
// reads from tracefs. Minimal hosts (and this project's CI) boot without
// tracefs mounted; mountleak mounts it where the kernel expects it rather
// than failing with a bare ENOENT, and unmounts it again once its programs
// are attached (an attached program no longer needs it): a tracer running
// for months leaves no mount of its own in the host's namespace.

#include <string>

namespace mountleak {

struct TracefsStatus {
  bool available = false;
  std::string detail;  // "mounted at /sys/kernel/tracing", "mounted by mountleak at ...", or why not
};

TracefsStatus ensure_tracefs();

// Unmounts tracefs if ensure_tracefs() mounted it; safe in a signal handler.
// Returns whether it did.
bool release_tracefs();

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// How a copy of a device's mount got where it is: the device mounted on
// the host, the namespaces copied one from another down to the holder's,
// the binds and propagation changes on the way, and the container and pod
// that hold it at the end. Read from the device's history, up to a moment.

#include <cstdint>
#include <vector>

#include "postmortem/device_history.h"
#include "postmortem/holders_at.h"

namespace mountleak {

struct CopyLineage {
  HeldCopy copy;
  // The namespaces from the first the log knows (the host's, when the chain
  // reaches it) down to the holder's.
  std::vector<uint64_t> namespaces;
  bool reaches_host = false;  // else the log lost the start (rotated away, lost events)
  std::vector<HistoryStep> steps;  // in time order
};

// The lineage of `copy` (a holder at `at`, not the host's own).
CopyLineage lineage_of(const DeviceHistory& history, const HeldCopy& copy, LogMicros at);

}  // namespace mountleak

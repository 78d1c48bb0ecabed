// SPDX-License-Identifier: Apache-2.0
#pragma once

// Who held a device at a given moment, replayed from its history: a mount
// or bind adds a holder, an unmount takes its mount point away, and each
// finding states who held it when it was made (a leak or busy finding lists
// them all, so holders it does not list were gone by then). Between two
// findings, what the raw events say is applied; a namespace that vanished
// without an unmount (its last process exited) is not in the log, so a
// holder is only as current as the finding that last `confirmed` it.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "postmortem/device_history.h"

namespace mountleak {

struct HeldCopy {
  uint64_t mntns = 0;
  bool host = false;
  // As the last finding named it; "host" for the host's own mounts seen in
  // kernel events; "" for another namespace only kernel events show.
  std::string role;
  std::set<std::string> mountpoints;
  std::string root;
  std::string propagation;
  std::vector<LoggedProcess> processes;
  LoggedOwner owner;
  std::string via;
  std::string hint;
  LogMicros since = 0;      // the first step that showed it
  LogMicros confirmed = 0;  // the last finding that listed it; 0: none did
};

// The holders of history.device at `at`, host first, then by namespace.
std::vector<HeldCopy> holders_at(const DeviceHistory& history, LogMicros at);

}  // namespace mountleak

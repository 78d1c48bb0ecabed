// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the operator asked report about: which devices, which pods, which
// span of time, and the moment whose holders to name. Plain values; cli/
// fills them in from the command line.

#include <optional>
#include <string>
#include <vector>

#include "postmortem/log_time.h"

namespace mountleak {

struct ReportQuery {
  std::vector<std::string> devices;  // /dev/rbd4, rbd4 or MAJ:MIN
  std::vector<std::string> images;   // POOL/IMAGE
  std::vector<std::string> pods;     // NAMESPACE/NAME, or NAME in any namespace
  std::optional<LogMicros> since;    // the timeline from here
  std::optional<LogMicros> until;    // and up to here
  // Holders and lineage at this moment; without it, at the end of the log
  // (or at `until`).
  std::optional<LogMicros> at;
};

}  // namespace mountleak

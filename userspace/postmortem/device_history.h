// SPDX-License-Identifier: Apache-2.0
#pragma once

// Everything the log says happened to one device, as steps in log order:
// the findings about it, and the raw kernel events that touched its mounts
// (mounted, bound elsewhere, copied into a namespace, that namespace's
// propagation changed, entered, unmounted). The timeline, the holders at a
// time and the lineage of each copy are all read from these steps.
//
// Raw events carry paths, not devices, so the device's mounts are followed
// by path: a mount of its device node starts them, a bind of a directory
// that contains one adds the copies under the bind's target, a new
// namespace inherits its parent's, an unmount removes one. Paths are as each
// call named them: inside a container before its pivot_root they are the
// host's, after it its own; the holders that findings name are what
// mountleak read from mountinfo.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "postmortem/device_selection.h"
#include "postmortem/log_entry.h"
#include "postmortem/log_records.h"

namespace mountleak {

enum class StepKind {
  kMounted,      // the device node mounted (raw mount)
  kBound,        // a bind made a copy of its mount elsewhere (raw mount, MS_BIND)
  kCopied,       // a new mount namespace copied it (raw mntns, or mntns_copy)
  kPropagated,   // kernel tier: the kernel propagated a copy into a namespace
  kEntered,      // a process joined a namespace that holds it (raw setns)
  kPropagation,  // the propagation of a mount holding it changed (raw mount, mount_setattr)
  kHostpathRisk, // finding: a directory holding it was bound in privately
  kUnmounted,    // one of its mounts was unmounted (raw umount)
  kLeak,         // finding: the host's last mount went, copies remain
  kBusy,         // finding: an unmap, unmount, exclusive open or detach failed with EBUSY
};

struct HistoryStep {
  StepKind kind = StepKind::kMounted;
  LogMicros time = 0;
  bool from_finding = false;  // else from a raw kernel event
  uint64_t mntns = 0;         // where it happened (copied: the new namespace)
  uint64_t from_mntns = 0;    // copied: the parent
  bool host = false;          // mntns is the host's
  // The process; container and pod when a finding named them (for a raw
  // event, when a finding named that pid in the same namespace).
  std::optional<LoggedCulprit> who;
  std::string source;       // mounted: the device node; bound: the directory; busy: the path
  std::string target;       // where it went, what was unmounted
  std::string propagation;  // private, slave, shared, unbindable (and "r" prefix when recursive)
  std::string detail;       // flags, a busy's source, "found by resync"
  std::optional<LoggedBind> bind;     // hostpath_risk
  std::vector<LoggedHolder> holders;  // findings: who held it when it was made
};

struct DeviceHistory {
  LoggedDevice device;
  uint64_t host_mntns = 0;  // 0: the log does not say
  std::vector<HistoryStep> steps;
  // Each namespace's parent, for every namespace a step names (from raw
  // mntns events and mntns_copy findings).
  std::map<uint64_t, uint64_t> parent_of;
  // The namespaces some finding names as holding the device. Steps are
  // kept for these and the host's only: every namespace made on the node
  // inherits the host's mounts, and most of them are no part of the story.
  std::set<uint64_t> holding;
  // How each other namespace that inherited the device's mounts was made,
  // for a lineage that passes through it (a pod sandbox, say).
  std::map<uint64_t, HistoryStep> created;
  // New namespaces past report's bound whose inherited mounts were not
  // followed (said as a warning: a lineage through one is cut short).
  uint64_t namespaces_not_followed = 0;
};

DeviceHistory build_device_history(const LogRecords& log, const LoggedDevice& device, uint64_t host_mntns);

// "rprivate" etc. from mount(2)'s flags text ("MS_REC|MS_PRIVATE"); "" when
// they change no propagation.
std::string propagation_from_flags(std::string_view flags);

}  // namespace mountleak

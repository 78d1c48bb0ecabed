// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the collector finds, as values: one type per kind of finding or
// notice. The collector fills them in; output/ alone turns them into JSON
// lines, the live view or the log, so a new consumer reads fields, never
// keys of a JSON object.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "findings/attribution.h"
#include "findings/holders.h"
#include "findings/kubelet_cover.h"
#include "model/host_view.h"
#include "model/kernel_event.h"
#include "model/mountinfo.h"
#include "release/release_plan.h"

namespace mountleak {

// The process a finding names: who created the namespace, made the bind,
// unmounted, or failed with EBUSY.
struct Culprit {
  int pid = 0;
  std::string comm;  // from the kernel event, at the time of the call
  Attribution who;   // its container and pod, read when the finding is made
};

// The device a finding is about and who holds it now.
struct DeviceFinding {
  DeviceRef device;
  std::vector<Holder> holders;
  // The bounds reached when it was made (see Degraded): holders may be missing.
  std::set<std::string> degraded;
};

// A new mount namespace kept private copies of tracked mounts.
struct MntnsCopy : DeviceFinding {
  uint64_t mntns = 0;
  uint64_t from_mntns = 0;
  Culprit creator;
};

// The bind that brought a private copy into a namespace.
struct BoundDirectory {
  HostPathAnswer source;  // the host directory it shows
  bool kubelet_root = false;
  // The kubelet root or above it, a directory below it that volumes are
  // mounted under (kubelet_cover.h), or neither.
  Cover cover = Cover::kNone;
  std::string mountpoint;  // where the namespace sees it
  Propagation propagation = Propagation::kPrivate;
};

// A directory holding tracked mounts was bound in with private propagation
// (trace), or a directory that exposes the kubelet's volume mounts is
// (scan --risks: no device need be there yet, so `device` is empty and
// `holders` too; the namespace's container and pod are in `who`).
struct HostpathRisk : DeviceFinding {
  BoundDirectory bind;
  uint64_t mntns = 0;
  std::optional<Culprit> process;  // the latest mounter there, when known
  std::optional<Attribution> who;  // scan --risks: who is in the namespace
  std::string pinned_at;           // scan --risks: an nsfs bind keeping it alive, when no process is
  std::string via;                 // scan --risks: the runtime's mount behind the bind, when it says
  std::string hint;                // scan --risks: the fix
};

// The host unmounted its last mount of a device while copies remain.
struct Leak : DeviceFinding {
  std::optional<Culprit> unmounted_by;
  // Found by a resync's look at the whole node: when the host unmounted is
  // not known.
  bool found_by_resync = false;
};

// A leak reported before is over: no namespace but the host's holds a copy
// any more (the holder restarted or unmounted it), or the host mounts the
// device again. Metrics drop the leak's series on it; the log keeps when.
struct LeakResolved {
  DeviceRef device;    // as named when the leak was reported
  std::string reason;  // "copies_gone" or "host_mounted_again"
};

// An unmap, unmount, exclusive open, detach or dm remove failed with EBUSY.
struct Busy : DeviceFinding {
  BusySource source = BusySource::kNone;
  std::string path;         // what the failing call was given
  std::string device_from;  // "kernel", "mount_table", "path", "rbd_id" or "dm_name"
  Culprit process;
  uint64_t mntns = 0;
  uint64_t kernel_ts_ns = 0;
  uint64_t latency_us = 0;  // from the kernel's hook to the finding
};

// trace --release-leaks acted on (or left alone, with why) one holder a
// leak named: the same step `mountleak release` reports, never a dry run.
struct Release {
  ReleaseStep step;
};

// The kernel dropped events; a resync follows.
struct Lost {
  uint64_t count = 0;
};

// The model was rebuilt from a full read of /proc.
struct Resync {
  bool ok = true;
  std::string error;  // when not ok
  size_t namespaces = 0;
  int64_t duration_ms = 0;
  int64_t next_after_ms = 0;  // the backoff before another
};

// A bound was reached (findings may be incomplete until it is left), or left.
struct Degraded {
  std::string bound;  // e.g. "max_namespaces"
  bool reached = true;
  size_t limit = 0;    // when reached
  std::string effect;  // when reached: what it costs
};

}  // namespace mountleak

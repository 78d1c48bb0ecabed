// SPDX-License-Identifier: Apache-2.0
#pragma once

// What `mountleak release` would do to each holder of a device, judged from
// scan's holders alone, so it can be read (dry run), tested without a
// kernel, and then carried out step by step. Only `leak` holders are acted
// on; everything else is left alone with the reason, and there is no way to
// ask for more: the host's mounts are the kubelet's, the owner pod uses its
// volume, followers go with the host's unmount, and a process with the
// device open or a device stacked on it is not something an unmount frees.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "findings/holders.h"

namespace mountleak {

enum class ReleaseAction {
  kPlanned,  // dry run: would be unmounted
  kDone,     // unmounted
  kKept,     // left alone by design (host, owner, follower): nothing is wrong
  kRefused,  // holds the device, but release will not act on it (fd, stacked, no way in)
  kFailed,   // tried, and the kernel said no (EBUSY for a copy in use)
};
std::string_view release_action_name(ReleaseAction action);

// How to enter a holder's mount namespace.
struct NamespaceDoor {
  // Processes in it: their /proc/PID/ns/mnt, each tried in turn (the first
  // still in the namespace judged is used), and their root for the paths.
  std::vector<int> pids;
  // No process: the nsfs bind mount that keeps it, resolved inside the
  // root of a process of the namespace the pin was found in.
  std::string pin_path;
  std::vector<int> pin_root_pids;
};

// One holder of one device, and what release does about it.
struct ReleaseStep {
  DeviceRef device;
  Holder holder;
  ReleaseAction action = ReleaseAction::kKept;
  std::string reason;  // kept / refused: why; failed: what the kernel said
  // kPlanned/kDone/kFailed: the holder's mount points of the device, deepest
  // first (a mount inside another must go first, or the outer one is busy).
  std::vector<std::string> unmount;
  NamespaceDoor door;
  bool lazy = false;          // MNT_DETACH was (or will be) used
  std::string errno_name;     // kFailed: "EBUSY"; empty when not a system call
  std::string failed_at;      // kFailed: the mount point the kernel refused
  std::vector<std::string> unmounted;  // kDone/kFailed: those that did go
};

struct ReleaseOptions {
  bool lazy = false;
};

// What scan read about the node's namespaces beyond the holders: the
// processes of each, and for a namespace only an nsfs pin keeps, the
// namespace the pin is in (its door is a process of that one).
struct NamespaceMembers {
  std::map<uint64_t, std::vector<int>> pids;
  std::map<uint64_t, uint64_t> pinned_from;
};

// One step per holder of `device`, in scan's order; every kLeak holder is
// kPlanned unless it cannot be entered or has no mount point release may
// touch (then kRefused, with why).
std::vector<ReleaseStep> plan_release(const DeviceHolders& device, const NamespaceMembers& members,
                                      const ReleaseOptions& options = {});

// Mount points deepest first; equal depths in reverse order, so the same
// mount point twice (stacked copies) stays twice.
std::vector<std::string> deepest_first(std::vector<std::string> mountpoints);

// True when a step leaves the device held and the operator must act:
// a refused or failed step, or a leak only planned.
bool step_needs_operator(const ReleaseStep& step);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "release/release_plan.h"

#include <linux/limits.h>

#include <algorithm>

namespace mountleak {

std::string_view release_action_name(ReleaseAction action) {
  switch (action) {
    case ReleaseAction::kPlanned: return "planned";
    case ReleaseAction::kDone: return "done";
    case ReleaseAction::kKept: return "kept";
    case ReleaseAction::kRefused: return "refused";
    case ReleaseAction::kFailed: return "failed";
  }
  return "?";
}

namespace {

size_t depth(const std::string& path) { return static_cast<size_t>(std::count(path.begin(), path.end(), '/')); }

// "pod kube-system/log-collector", "container 3f2a..." or "" for a holder
// that names neither.
std::string whose(const Holder& h) {
  if (h.who.pod) return "pod " + h.who.pod->namespace_ + "/" + h.who.pod->name;
  if (h.who.container) return "container " + h.who.container->id.substr(0, 12);
  return "";
}

// "PID 42 (backup), PID 43 (backup)": the processes an fd holder is.
std::string processes_of(const Holder& h) {
  std::string out;
  for (const auto& p : h.who.processes) {
    if (!out.empty()) out += ", ";
    out += "PID " + std::to_string(p.pid) + (p.comm.empty() ? "" : " (" + p.comm + ")");
  }
  if (out.empty())
    for (const auto& fd : h.fds) {
      if (!out.empty()) out += ", ";
      out += "PID " + std::to_string(fd.pid);
    }
  return out.empty() ? "a process" : out;
}

// A mount point release may hand to umount2(): absolute, not the
// namespace's root, one C string, within PATH_MAX. The path comes from the
// holder's own mount table, which its container can shape.
std::string unusable_mountpoint(const std::string& mp) {
  if (mp.empty() || mp.front() != '/') return "mount point '" + mp + "' is not absolute";
  if (mp == "/") return "the device is this namespace's root file system";
  if (mp.find('\0') != std::string::npos) return "mount point contains a NUL byte";
  if (mp.size() >= PATH_MAX) return "mount point longer than PATH_MAX";
  return "";
}

ReleaseStep leak_step(ReleaseStep step, const NamespaceMembers& members, const ReleaseOptions& options) {
  const Holder& h = step.holder;
  for (const auto& mp : h.mountpoints)
    if (auto why = unusable_mountpoint(mp); !why.empty()) {
      step.action = ReleaseAction::kRefused;
      step.reason = why + ": not unmounted";
      return step;
    }
  if (h.mountpoints.empty()) {
    step.action = ReleaseAction::kRefused;
    step.reason = "no mount point of the device is known in this namespace";
    return step;
  }
  if (!h.who.pids.empty()) {
    step.door.pids = h.who.pids;
  } else if (h.held_open_by > 0) {
    // Entering through another process's descriptor would trust a link that
    // process can swap at any time; stopping it frees the namespace whole.
    step.action = ReleaseAction::kRefused;
    step.reason = "no process is in this namespace; descriptor " + std::to_string(h.held_open_fd) + " of process " +
                  std::to_string(h.held_open_by) + " keeps it: stop that process or have it close the descriptor";
    return step;
  } else if (!h.pinned_at.empty()) {
    auto pin_ns = members.pinned_from.find(h.mntns);
    auto from = pin_ns == members.pinned_from.end() ? members.pids.end() : members.pids.find(pin_ns->second);
    if (from == members.pids.end() || from->second.empty()) {
      step.action = ReleaseAction::kRefused;
      step.reason = "its nsfs pin (" + h.pinned_at +
                    ") is inside another namespace no process is in: release does not enter pins within pins";
      return step;
    }
    step.door.pin_path = h.pinned_at;
    step.door.pin_root_pids = from->second;
  } else {
    step.action = ReleaseAction::kRefused;
    step.reason = "no process is in this namespace and no nsfs pin is known: nothing to enter it by";
    return step;
  }
  step.action = ReleaseAction::kPlanned;
  step.lazy = options.lazy;
  step.unmount = deepest_first(h.mountpoints);
  return step;
}

}  // namespace

std::vector<std::string> deepest_first(std::vector<std::string> mountpoints) {
  std::stable_sort(mountpoints.begin(), mountpoints.end(), [](const std::string& a, const std::string& b) {
    const size_t da = depth(a), db = depth(b);
    if (da != db) return da > db;
    return a > b;
  });
  return mountpoints;
}

bool step_needs_operator(const ReleaseStep& step) {
  return step.action == ReleaseAction::kRefused || step.action == ReleaseAction::kFailed ||
         step.action == ReleaseAction::kPlanned;
}

std::vector<ReleaseStep> plan_release(const DeviceHolders& device, const NamespaceMembers& members,
                                      const ReleaseOptions& options) {
  std::vector<ReleaseStep> steps;
  for (const Holder& h : device.holders) {
    ReleaseStep step;
    step.device = device.device;
    step.holder = h;
    const std::string dev = device.device.path.empty() ? "the device" : device.device.path;
    switch (h.role) {
      case HolderRole::kHost:
        step.action = ReleaseAction::kKept;
        step.reason = "the host's own mount: the kubelet's to unmount, never release's";
        break;
      case HolderRole::kOwner:
        step.action = ReleaseAction::kKept;
        step.reason = "the " + (whose(h).empty() ? std::string("pod") : whose(h)) +
                      " this volume belongs to uses it: never touched";
        break;
      case HolderRole::kFollower:
        step.action = ReleaseAction::kKept;
        step.reason = "follows the host's mount (" + h.propagation +
                      " propagation): it goes away with the host's unmount";
        break;
      case HolderRole::kFd:
        step.action = ReleaseAction::kRefused;
        step.reason = processes_of(h) + (whose(h).empty() ? "" : " of " + whose(h)) + " " +
                      (h.fds.empty() || h.fds.front().device_node ? "has " + dev + " open"
                                                                  : "has a file on " + dev + " open") +
                      ": release closes no other process's files; stop it, then release again";
        break;
      case HolderRole::kStacked:
        step.action = ReleaseAction::kRefused;
        step.reason = "/dev/" + h.stacked_device + " is built on top of " + dev +
                      ": remove it first (dmsetup remove / mdadm --stop); release does not";
        break;
      case HolderRole::kLeak:
        step = leak_step(std::move(step), members, options);
        break;
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The words an operator acts on: how a mount got into a container, and what
// to do about it. Pure functions of what the scan found, so every wording is
// tested without a node.

#include <string>
#include <string_view>
#include <vector>

#include "resolve/runtime_metadata.h"

namespace mountleak {

// "rprivate" -> "private", "rslave" -> "slave", "rshared" -> "shared",
// "runbindable" -> "unbindable"; other words unchanged; "" stays "".
std::string_view propagation_word(std::string_view propagation);

// The container's bind mount (OCI type "bind", docker "volume", or an
// rbind/bind option) whose destination is the longest path prefix of
// container_mount_point, i.e. the bind a mount at that point came in
// through; a later mount at the same destination wins, as it covers the
// earlier one. nullptr when no bind covers it (the container made it).
const OciMount* mount_covering(const std::vector<OciMount>& mounts, std::string_view container_mount_point);

// "/var/lib/kubelet bound into the container at /var/lib/kubelet with
// private propagation". observed_propagation is what mountinfo shows for the
// holder's mount ("private", "slave", "shared", r-forms accepted); it wins
// over the configured one, which is added in parentheses when they differ.
std::string describe_via(const OciMount& m, std::string_view observed_propagation);

// True when the mount came in through a bind whose propagation (observed,
// else configured) is private: the host's unmount never reached the copy,
// which is the leak this tool exists for.
bool leaked_through_private_bind(const OciMount* via, std::string_view observed_propagation);

// True when `via` is one of the pod's own volumes
// (<kubelet root>/pods/<pod_uid>/volumes/...): holding it is that pod's job,
// not a leak.
bool is_own_pod_volume(const OciMount& via, std::string_view pod_uid);

enum class HolderKind {
  kMount,     // a mount namespace has a mount of the device
  kOpenFile,  // a process has the device node, or a file on it, open
};

// Everything the hint may use; views into the caller's data. Unknown is "",
// 0 or nullptr.
struct HolderFacts {
  HolderKind kind = HolderKind::kMount;
  std::string_view device;  // "/dev/rbd4"
  std::string_view runtime;
  std::string_view container_name;
  std::string_view container_id;  // "" when the holder is in no container
  const PodRef* pod = nullptr;
  bool owner_pod = false;  // the pod the device is a volume of (is_own_pod_volume)
  // kMount: the bind it came in through (mount_covering), and its mountinfo propagation.
  const OciMount* via = nullptr;
  std::string_view observed_propagation;
  // A process to act on (kOpenFile: the one with the file open; kMount: one
  // in the namespace) and the mount point as its namespace sees it.
  int pid = 0;
  std::string_view comm;
  std::string_view mount_point;
  // A bind-mounted nsfs file keeping a namespace with no process alive, or
  // a process's open descriptor on it.
  std::string_view nsfs_pin;
  int held_open_by = 0;
  int held_open_fd = -1;
  // A private copy `mountleak release` may unmount in place (a leak holder:
  // not the host, the owner pod, a follower, an open file or a stacked device).
  bool releasable = false;
  // The container's runtime has no record of it, yet a shim on the host
  // still runs it (a daemon restarted without restoring it): its shim and
  // its first process, whose death ends it.
  bool unknown_to_runtime = false;
  int shim_pid = 0;
  int init_pid = 0;
};

// One line an operator can act on. A container its runtime no longer knows
// is not restarted with its pod: the hint says to stop the shim's
// container instead. Otherwise e.g. "restart container fluentd (pod
// kube-system/fluentd-x7k2p) to release /dev/rbd4, or unmount its copy
// without a restart: mountleak release --device /dev/rbd4 --yes; set
// mountPropagation: HostToContainer on its hostPath volume /var/lib/kubelet
// so it cannot happen again".
std::string make_hint(const HolderFacts& facts);

// The fix for a hostPath risk (`scan --risks`): a private bind of a
// directory that exposes the kubelet's volume mounts, before any volume is
// held. `facts.via` is the runtime's mount behind the bind (its source is
// the hostPath as the manifest wrote it); `facts.mount_point` the bind's
// mount point in the namespace; `facts.device` is not used. E.g. "set
// mountPropagation: HostToContainer on the volumeMount of hostPath
// /var/lib/kubelet in container fluentd of pod kube-system/fluentd-x7k2p
// (in the manifest of the workload that made the pod), then roll it out".
std::string make_risk_hint(const HolderFacts& facts);

}  // namespace mountleak

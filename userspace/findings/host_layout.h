// SPDX-License-Identifier: Apache-2.0
#pragma once

// The host as findings name it: its mount table seen as paths (HostView),
// the kubelet root by identity, and where a bind in another namespace came
// from. Built from the host namespace's mounts; scan builds one per
// snapshot, trace rebuilds it when the host's table changes.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "findings/host_directory.h"
#include "model/host_view.h"
#include "model/mountinfo.h"

namespace mountleak {

struct HostLayout {
  HostView view;
  HostDirectory kubelet;  // the kubelet root
  // The --host-root prefix that paths from the node are named without ("/"
  // when mountleak runs in the host's root).
  std::string host_root;

  static HostLayout build(const HostPaths& paths, const std::vector<MountEntry>& host_mounts);

  // How findings name paths: "as the host sees them[, without the /host
  // prefix]".
  std::string paths_note() const;
};

// A bind mount of a host directory into another namespace, as the host sees it.
struct BindOrigin {
  const MountEntry* bind = nullptr;  // in the namespace's table
  HostPathAnswer source;             // the host directory it shows
  bool kubelet_root = false;         // that directory is the kubelet root
};

// True when `mount` is simply the host's own mount at the same place, seen
// through a copy of the host's tree (as after a plain `unshare -m`), not a
// bind into a root of the namespace's own.
bool is_host_tree_copy(const std::vector<MountEntry>& ns_mounts, const std::vector<MountEntry>& host_mounts,
                       const MountEntry& mount);

// The bind that brought `mount` into a namespace: its closest ancestor that
// is not itself a tracked mount, when that ancestor is not simply the host's
// own mount seen through a copy of the host's tree (as after a plain
// `unshare -m`). A container that pivoted into its own root has nothing of
// the host's tree but its binds. Empty when the namespace merely copied the
// host's tree.
std::optional<BindOrigin> bind_origin(const std::vector<MountEntry>& ns_mounts, const HostLayout& host,
                                      const std::vector<MountEntry>& host_mounts, const MountEntry& mount,
                                      const std::function<bool(DevId)>& tracked);

}  // namespace mountleak

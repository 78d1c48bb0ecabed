// SPDX-License-Identifier: Apache-2.0
#pragma once

// Whether a host directory exposes the kubelet's volume mounts: the
// directory is the kubelet root, one of its ancestors (`/`, `/var`,
// `/var/lib`), or one of the directories below it that the kubelet mounts
// volumes under (`pods`, `plugins`, `plugins/kubernetes.io` and below it,
// where in-tree plugins and CSI stage their global mounts). Other
// directories below the root hold sockets and state, no mounts
// (`plugins_registry`, a CSI driver's own `plugins/<driver>` socket
// directory, `device-plugins`, `pod-resources`), and one pod's own
// directory (`pods/<uid>`) shows only that pod's volumes.
//
// Judged on paths, normalised lexically: `lint` on a manifest's hostPath
// (a node it never sees), `scan --risks` on the host path a bind shows.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mountleak {

// "/var//lib/./kubelet/" -> "/var/lib/kubelet"; ".." goes up lexically and
// stops at "/". None for a path that is not absolute.
std::optional<std::string> normalize_host_path(std::string_view path);

enum class Cover {
  kNone,
  kAncestor,  // the kubelet root or a directory above it
  kBelow,     // a directory below the kubelet root that volumes are mounted under
};

// As lint and scan --risks print it: "covers" (the root or above it),
// "below" or "none".
std::string_view cover_name(Cover cover);

// How `host_path` (normalised) relates to the nearest of `kubelet_roots`
// (normalised); `root` is set to that root.
Cover covers_kubelet_root(const std::string& host_path, const std::vector<std::string>& kubelet_roots,
                          std::string& root);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Whether a hostPath volume exposes the kubelet's mounts: the path is the
// kubelet root, one of its ancestors (`/`, `/var`, `/var/lib`), or a
// directory below it (`.../pods`, `.../plugins`), where the volumes are
// mounted. Judged on the path as written, normalised lexically: a manifest
// names paths on a node the linter never sees.

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
  kBelow,     // a directory below the kubelet root
};

// How `host_path` (normalised) relates to the nearest of `kubelet_roots`
// (normalised); `root` is set to that root.
Cover covers_kubelet_root(const std::string& host_path, const std::vector<std::string>& kubelet_roots,
                          std::string& root);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// A host directory matched by what it is rather than how it is spelled.
//
// Nodes put the kubelet root on its own disk, behind a symlink
// (/var/lib/kubelet -> /data/kubelet), as a bind of another directory, or
// elsewhere with --root-dir; the kubelet's mounts then show up in mountinfo
// under whichever name the kubelet used. A directory given on the command
// line is resolved once against the host's mount table: its canonical host
// path, the file system place it is, and every host path that shows that
// place. A path under any of them is under the directory.

#include <optional>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "model/host_view.h"

namespace mountleak {

struct HostDirectory {
  std::string configured;               // as given, --host-root prefix included
  std::string host_path;                // canonical, as the host names it
  std::optional<FsPlace> place;         // the directory itself; empty if no host mount shows it
  std::vector<std::string> spellings;   // every host path naming it, longest first
  std::string note;                     // why resolving fell short, for warnings; empty when it did not

  // The spelling of this directory that `path` lies under (`path` itself
  // included), or nullptr.
  const std::string* containing(const std::string& path) const;
  // True when `p` is this directory itself.
  bool is(const FsPlace& p) const { return place && *place == p; }
};

// Resolves `configured`'s symlinks inside the host root (resolve_host_path),
// then finds it in the host's mount table. A directory that cannot be
// resolved (no kubelet on this host) keeps its spelling, and says why in
// `note`.
HostDirectory resolve_host_directory(const HostPaths& paths, const HostView& host, const std::string& configured);

// "<kubelet root>/pods/<uid>/volumes/..." under any spelling -> uid; "" otherwise.
std::string pod_uid_of_volume_path(const HostDirectory& kubelet_root, const std::string& path);

}  // namespace mountleak

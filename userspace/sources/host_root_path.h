// SPDX-License-Identifier: Apache-2.0
#pragma once

// Resolving a host path the way the host would, from wherever mountleak
// runs: symlinks (absolute ones included) and ".." are followed inside the
// host root given by --host-root, never outside it, and never into /proc's
// magic links.

#include <string>

#include "config/host_paths.h"
#include "util/result.h"

namespace mountleak {

// A host path as the host names it, from an absolute path that may lie
// under the --host-root prefix ("/host/var/lib/kubelet" -> "/var/lib/kubelet");
// a path outside the prefix is taken as a host path already.
std::string without_host_root(const HostPaths& paths, const std::string& path);

// The canonical host path of an existing host path: every symlink resolved
// inside the host root, without the --host-root prefix. Opens the path with
// O_PATH only, so a FIFO or device there is never opened for I/O.
Result<std::string> resolve_host_path(const HostPaths& paths, const std::string& host_path);

// Refuses to go on when the host root (--host-root, "/" by default) is not
// the root of the host's processes: mountleak then runs in a chroot or a
// container without --host-root, and every host path it reads or names
// would be the wrong one. `host_mntns` is --host-mntns: a pid is checked,
// anything else (a namespace file, auto) checks PID 1.
Status check_host_root(const HostPaths& paths, const std::string& host_mntns);

}  // namespace mountleak

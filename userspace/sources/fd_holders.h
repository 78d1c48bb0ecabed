// SPDX-License-Identifier: Apache-2.0
#pragma once

// Processes that keep a block device busy without a mount of it in their
// namespace: an open descriptor on the device node or on a file on it, or a
// working directory, root, executable or memory-mapped file on it. Also the kernel's own holders
// (device-mapper, md) from sysfs.

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/host_paths.h"
#include "model/dev_id.h"
#include "model/device.h"
#include "model/node_snapshot.h"

namespace mountleak {

// File systems served by another process or machine (FUSE, NFS, CIFS,
// ...). Following a descriptor's magic link into one of them can still ask
// the server (NFS revalidates the target), so there the device comes from
// the mount table.
bool served_remotely(std::string_view fs_type);

// The mounts of the namespaces read whose file system is served by another
// process or machine (FUSE, NFS, CIFS, ...), by mount id: their device.
// Only those: every other descriptor is followed to its file.
using MountIndex = std::unordered_map<uint64_t, DevId>;
MountIndex index_remote_mounts(const std::map<uint64_t, MountNamespace>& namespaces);

// Scans pids (empty = every process under HostPaths::proc()). Never waits
// for a file system: attributes come from the kernel's cache
// (AT_STATX_DONT_SYNC), and a descriptor on a mount in `mounts` (served
// remotely) is matched by that mount's device alone (fdinfo's mnt_id),
// without following it. Counts descriptors looked at, processes
// gone mid-scan and unreadable fd directories in counters.
std::vector<FdHolder> find_fd_holders(const HostPaths& paths, DevId dev, const std::vector<int>& pids,
                                      ScanCounters& counters, const MountIndex& mounts = {});

// Same for several devices in one pass over /proc.
std::vector<FdHolder> find_fd_holders(const HostPaths& paths, const std::vector<DevId>& devs,
                                      const std::vector<int>& pids, ScanCounters& counters,
                                      const MountIndex& mounts = {});

// Entries of <sys>/class/block/<kernel_name>/holders (e.g. "dm-0"), sorted;
// empty if there are none or the directory does not exist.
std::vector<std::string> sysfs_holders(const HostPaths& paths, const std::string& kernel_name);

}  // namespace mountleak

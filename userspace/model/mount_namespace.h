// SPDX-License-Identifier: Apache-2.0
#pragma once

// One mount namespace of the node: its identity (the nsfs inode), the
// processes in it and its mount table.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/mountinfo.h"

namespace mountleak {

struct MountNamespace {
  uint64_t inode = 0;
  std::vector<int> pids;  // ascending; empty when pinned_only
  // As seen from the root of the member read (see mountinfo_origin): for a
  // container, paths inside the container.
  std::vector<MountEntry> mounts;
  bool pinned_only = false;      // no process, held by an nsfs bind mount or a descriptor
  std::string pinned_at;         // that bind mount, as the namespace it was found in sees it
  uint64_t pinned_from = 0;      // the namespace in which pinned_at was found
  // Or the open descriptor that alone keeps it (/proc/PID/fd/FD is an nsfs file).
  int held_open_by = 0;          // that process
  int held_open_fd = -1;
  std::string mountinfo_origin;  // the file the mounts were read from
  std::string read_error;        // why mounts is empty when it could not be read
  // A bound was reached (SnapshotLimits::max_mounts): only the mounts a
  // finding can need were kept, not the whole table.
  bool trimmed = false;
  // Every peer group the whole table's mounts are in (shared:N) or slaves
  // of (master:N), ascending, kept when `mounts` is narrowed to what a
  // finding needs: where a mount or unmount elsewhere propagates to is
  // asked of these, not of the mounts. Empty until propagation_groups()
  // fills it.
  std::vector<uint32_t> groups;
  // Every device the whole table mounts, ascending, kept as `groups` is:
  // while one is mounted anywhere its number cannot go to another device.
  std::vector<DevId> devices;
};

// The devices `mounts` mount, ascending, unique.
std::vector<DevId> mounted_devices(const std::vector<MountEntry>& mounts);

// The peer groups of `mounts` (shared and master ids), ascending, unique.
std::vector<uint32_t> propagation_groups(const std::vector<MountEntry>& mounts);

// The mounts a finding can need from a namespace kept when the model is
// full: those `keep` accepts (the tracked devices') and nsfs pins (how
// pinned namespaces are found).
std::vector<MountEntry> mounts_kept(const std::vector<MountEntry>& mounts,
                                    const std::function<bool(const MountEntry&)>& keep);

// The mounts a finding about some mounts (those `keep` accepts: a device's,
// say) can need from a namespace that is not the host's: those, every
// mount they sit on up to the namespace's root (how a copy came in: the
// bind it arrived with, its propagation), the root mount itself (whether
// the namespace shares the host's tree), and nsfs pins. Everything else is
// dropped as it is read, so what a scan holds follows what it was asked
// about, not the size of the node.
std::vector<MountEntry> mounts_a_finding_needs(std::vector<MountEntry> mounts,
                                               const std::function<bool(const MountEntry&)>& keep);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The tracer's live picture of the node: every mount namespace with its
// mount table and the processes known to be in it. Built from the same
// enumerator as `scan`, then kept current one namespace at a time.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "model/mount_namespace.h"
#include "model/node_snapshot.h"

namespace mountleak {

class LiveModel {
 public:
  using KeepMount = std::function<bool(const MountEntry&)>;
  // From now on every namespace but the host's keeps only the mounts a
  // finding about those `keep` accepts can need (mounts_a_finding_needs),
  // and the peer groups of all its mounts: the model's memory follows the
  // tracked devices, not the size of the node. Set before reset().
  void narrow_with(KeepMount keep) { narrow_ = std::move(keep); }

  void reset(NodeSnapshot snapshot);

  const std::map<uint64_t, MountNamespace>& namespaces() const { return namespaces_; }
  uint64_t host_mntns() const { return host_mntns_; }
  bool has(uint64_t inode) const { return namespaces_.count(inode) > 0; }
  const MountNamespace* find(uint64_t inode) const;

  // A namespace seen for the first time (created, or entered by setns):
  // it starts as a copy of `copied_from`'s table when that is known, which
  // is exactly what the kernel's copy held at that moment; with `keep`,
  // only mounts_kept() of it (the model is full).
  void add_namespace(uint64_t inode, int pid, uint64_t copied_from, const KeepMount* keep = nullptr);
  void add_pid(uint64_t inode, int pid);
  void set_pids(uint64_t inode, std::vector<int> pids);  // pids ascending
  void drop_pid(uint64_t inode, int pid);
  // No process is in it any more; descriptor `fd` of process `pid` keeps it.
  void held_open(uint64_t inode, int pid, int fd);

  // Replaces a namespace's mount table (keeping its pids); returns the mounts
  // that appeared and those that vanished, by mount id. A table copied by
  // add_namespace carries the parent's mount ids, so its first replacement
  // compares by place instead (mount point, root, device): otherwise every
  // mount of a new container would look new, and send the collector to
  // re-read every namespace sharing a peer group with the host.
  struct Change {
    std::vector<MountEntry> added;
    std::vector<MountEntry> removed;
  };
  // What the model keeps of a table just read for namespace `inode`: the
  // mounts narrow_with() allows (all of them for the host) and the peer
  // groups of all.
  struct Table {
    std::vector<MountEntry> mounts;
    std::vector<uint32_t> groups;
    std::vector<DevId> devices;
  };
  Table table_of(uint64_t inode, std::vector<MountEntry> mounts) const;
  Change replace_mounts(uint64_t inode, Table table, bool trimmed = false);
  Change replace_mounts(uint64_t inode, std::vector<MountEntry> mounts) {
    return replace_mounts(inode, table_of(inode, std::move(mounts)));
  }
  void remove(uint64_t inode);

  // What the model's memory follows: every namespace's mounts together,
  // and how many namespaces hold a trimmed table (MountNamespace::trimmed).
  size_t mount_count() const { return mount_count_; }
  size_t trimmed_count() const { return trimmed_count_; }

  // Namespaces (other than `except`) holding a mount in one of these peer
  // groups, as a peer (shared:N) or a slave (master:N): where a mount or
  // unmount under such a group propagates.
  std::vector<uint64_t> namespaces_in_groups(const std::set<uint32_t>& groups, uint64_t except) const;

  // Namespaces holding a mount of dev, ascending; from an index, so a busy
  // event does not walk every mount of the node.
  std::vector<uint64_t> namespaces_holding(DevId dev) const;
  // Whether some namespace's whole table mounts dev, kept or not: its
  // number cannot be given to another device meanwhile.
  bool held(DevId dev) const { return mounted_.count(dev) > 0; }
  std::vector<DevId> held_devices() const;
  // Devices no namespace mounts any more since the last call: their number
  // may now be given to another device (an rbd unmap, then a map).
  std::vector<DevId> take_released();

 private:
  void index(uint64_t inode, const MountNamespace& ns);
  void unindex(uint64_t inode, const MountNamespace& ns);

  std::map<uint64_t, MountNamespace> namespaces_;
  uint64_t host_mntns_ = 0;
  KeepMount narrow_;
  std::map<DevId, std::set<uint64_t>> holding_;  // device -> namespaces whose kept mounts mount it
  std::map<DevId, uint32_t> mounted_;            // device -> namespaces whose whole table mounts it
  // Keeps the counters right whenever a table is replaced or dropped.
  void account(const MountNamespace& ns, int sign);

  std::set<uint64_t> inherited_;  // tables copied from a parent, not read yet
  size_t mount_count_ = 0;
  size_t trimmed_count_ = 0;
  std::vector<DevId> released_;
};

}  // namespace mountleak

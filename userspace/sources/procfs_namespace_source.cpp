// SPDX-License-Identifier: Apache-2.0
#include "sources/procfs_namespace_source.h"

#include "sources/procfs.h"
#include "sources/task_namespaces.h"

namespace mountleak {

Result<NodeSnapshot> ProcfsNamespaceSource::snapshot(const SnapshotLimits& limits) {
  EnumerateOptions options;
  options.host_mntns = host_mntns_;
  options.process_details = false;
  options.limits = limits;
  // A namespace only a descriptor keeps is found at start, as scan finds it;
  // later ones when their last process leaves (Reconciler).
  options.descriptor_pinned_namespaces = true;
  return enumerate_node(paths_, options);
}

Result<MountNamespace> ProcfsNamespaceSource::read(int pid, size_t max_mountinfo_bytes) {
  return read_namespace_of(paths_, pid, max_mountinfo_bytes);
}

std::optional<uint64_t> ProcfsNamespaceSource::namespace_of(int pid) {
  auto inode = ns_inode(paths_.proc(), pid, "mnt");
  if (!inode) return std::nullopt;
  return *inode;
}

std::map<uint64_t, std::vector<int>> ProcfsNamespaceSource::members() { return task_members(paths_.proc()); }

std::optional<DescriptorPin> ProcfsNamespaceSource::held_open(uint64_t inode, const DescriptorPin* last) {
  if (last && last->mntns == inode && descriptor_still_pins(paths_.proc(), *last)) return *last;
  return find_descriptor_pin(paths_.proc(), inode);
}

}  // namespace mountleak

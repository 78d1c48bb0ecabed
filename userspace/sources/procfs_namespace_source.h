// SPDX-License-Identifier: Apache-2.0
#pragma once

// The node's mount namespaces as /proc shows them.

#include <string>

#include "config/host_paths.h"
#include "sources/namespace_source.h"

namespace mountleak {

class ProcfsNamespaceSource : public NamespaceSource {
 public:
  ProcfsNamespaceSource(const HostPaths& paths, std::string host_mntns)
      : paths_(paths), host_mntns_(std::move(host_mntns)) {}
  Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) override;
  Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) override;
  std::optional<uint64_t> namespace_of(int pid) override;
  std::map<uint64_t, std::vector<int>> members() override;
  std::optional<DescriptorPin> held_open(uint64_t inode, const DescriptorPin* last) override;

 private:
  const HostPaths& paths_;
  std::string host_mntns_;
};

}  // namespace mountleak

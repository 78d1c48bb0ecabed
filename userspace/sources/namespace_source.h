// SPDX-License-Identifier: Apache-2.0
#pragma once

// Where trace's model gets its truth: the real procfs
// (procfs_namespace_source.h), or a test's scripted node.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "sources/descriptor_pins.h"
#include "sources/namespace_enumerator.h"
#include "util/result.h"

namespace mountleak {

class NamespaceSource {
 public:
  virtual ~NamespaceSource() = default;
  virtual Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) = 0;
  // A mount table longer than max_mountinfo_bytes is an EFBIG error.
  virtual Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) = 0;
  // The mount namespace a task (a process, or a thread by its id) is in;
  // none when it is gone.
  virtual std::optional<uint64_t> namespace_of(int pid) = 0;
  // Every process by mount namespace, from one pass over all of them, and
  // every thread that is not in its process's namespace.
  virtual std::map<uint64_t, std::vector<int>> members() = 0;
  // A descriptor that keeps namespace `inode` open though no process is in
  // it; `last` (the one found before) is checked first, the one cheap case.
  // Asked only of namespaces holding a tracked device, whose last process
  // has left: the search reads every process's descriptors.
  virtual std::optional<DescriptorPin> held_open(uint64_t /*inode*/, const DescriptorPin* /*last*/) {
    return std::nullopt;
  }
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// leak: the host unmounted its last mount of a tracked device while other
// namespaces still hold copies. Judged when the host's table is re-read,
// and after a resync for leaks made while the model was blind.

#include <cstdint>
#include <set>
#include <utility>

#include "collector/ingest.h"
#include "collector/node_state.h"
#include "collector/reconciler.h"

namespace mountleak {

class LeakDetector {
 public:
  LeakDetector(NodeState& node, const Ingest& ingest, Reconciler& reconciler)
      : node_(node), ingest_(ingest), reconciler_(reconciler) {}

  // The namespace was re-read; `before` are the tracked devices it held.
  void judge(uint64_t inode, const std::set<DevId>& before);
  // After a resync: private copies of devices the host no longer mounts.
  void judge_orphaned_copies();

 private:
  NodeState& node_;
  const Ingest& ingest_;
  Reconciler& reconciler_;
  std::set<std::pair<uint64_t, DevId>> reported_;  // (host namespace, device)
};

}  // namespace mountleak

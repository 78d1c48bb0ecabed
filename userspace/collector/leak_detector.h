// SPDX-License-Identifier: Apache-2.0
#pragma once

// leak: the host unmounted its last mount of a tracked device while other
// namespaces still hold copies. Judged when the host's table is re-read,
// and after a resync for leaks made while the model was blind.

#include <cstdint>
#include <map>
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
  // Leaks reported before that are over (leak_resolved): no namespace but
  // the host's holds the device any more, or the host mounts it again.
  // Cheap when nothing leaks; the collector calls it once per tick.
  void judge_resolved();

 private:
  NodeState& node_;
  const Ingest& ingest_;
  Reconciler& reconciler_;
  // (host namespace, device) -> the device as the leak named it, so that
  // leak_resolved names it the same way after it is detached.
  std::map<std::pair<uint64_t, DevId>, DeviceRef> reported_;
};

}  // namespace mountleak

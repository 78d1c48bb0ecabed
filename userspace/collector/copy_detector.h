// SPDX-License-Identifier: Apache-2.0
#pragma once

// New private copies of tracked mounts in a namespace: hostpath_risk when a
// bind of a host directory brought them, mntns_copy when the namespace is
// new. Each (namespace, device) is reported once.

#include <cstdint>
#include <optional>
#include <set>
#include <utility>

#include "collector/ingest.h"
#include "collector/node_state.h"

namespace mountleak {

class CopyDetector {
 public:
  CopyDetector(NodeState& node, const Ingest& ingest) : node_(node), ingest_(ingest) {}

  // The namespace was re-read.
  void judge(uint64_t inode, Clock::time_point now);
  void forget(uint64_t inode);
  // After a resync replaced the model: the hostPath risks of namespaces
  // gone meanwhile (no sweep saw them die).
  void forget_missing();
  // Namespaces in the model now that a hostpath_risk was reported for: the
  // private bind lives as long as its namespace.
  size_t risks_now() const;

 private:
  // The first private copy of `dev` that a bind brought in explains it
  // (the judgement is findings/hostpath_risk.h's, shared with scan --risks).
  std::optional<BoundDirectory> bind_behind(const MountNamespace& ns, DevId dev);

  NodeState& node_;
  const Ingest& ingest_;
  std::set<std::pair<uint64_t, DevId>> reported_;  // (mntns, device): copy or hostPath risk
  std::set<uint64_t> risky_;                       // namespaces with a hostPath risk
};

}  // namespace mountleak

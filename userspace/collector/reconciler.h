// SPDX-License-Identifier: Apache-2.0
#pragma once

// Re-reads changed namespaces from their mount tables, and every namespace
// the change propagates to (peers and slaves of the peer groups involved);
// drops namespaces whose processes are all gone (no event says so).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "collector/bounds.h"
#include "collector/dirty_set.h"
#include "collector/node_state.h"

namespace mountleak {

class Reconciler {
 public:
  // A namespace re-read, and the tracked devices it held before.
  struct Reread {
    uint64_t inode = 0;
    std::set<DevId> before;
  };
  using Judge = std::function<void(const std::vector<Reread>&)>;

  Reconciler(NodeState& node, Bounds& bounds, DirtySet& dirty, std::function<void(uint64_t)> forget_namespace)
      : node_(node), bounds_(bounds), dirty_(dirty), forget_namespace_(std::move(forget_namespace)) {}

  // Re-reads due namespaces (every dirty one with `all`) and what they
  // propagate to, until `until`; hands each group re-read to `judge`. False
  // if some had to wait for a later call.
  bool reconcile_due(Clock::time_point now, Clock::time_point until, bool all, const Judge& judge);
  // Re-reads one namespace alone; false when it could not be (gone, too large).
  bool reread(uint64_t inode) {
    LiveModel::Change ignored;
    return reread(inode, ignored);
  }

  // Every process's namespace is looked up anew from here on (call once a tick).
  void forget_members() { members_.reset(); }
  // A namespace's death sends no event: without this sweep a dead
  // container's namespace stayed in the model (and in every propagation
  // lookup) until its inode was reused.
  void sweep_dead_namespaces();
  // The passive tier has no hook on unshare or setns: a namespace whose
  // tasks neither fork nor exec after entering it is found here, from the
  // sweep's pass over /proc, and read as new.
  void discover_namespaces(Clock::time_point now);
  // The same for the namespaces holding one device, at once: a busy finding
  // must not name a container that exited since the last sweep.
  void drop_dead_holders(DevId dev);

 private:
  // One namespace and everything its change propagates to.
  std::vector<Reread> reconcile(uint64_t inode, Clock::time_point now, Clock::time_point until);
  bool reread(uint64_t inode, LiveModel::Change& change);
  // The peer groups a change touched: where it propagates.
  std::set<uint32_t> groups_touched(uint64_t inode, const LiveModel::Change& change) const;
  // Every process's mount namespace, from one pass over /proc made the first
  // time a tick asks: when containers exit by the dozen, each dead namespace
  // would otherwise stat every /proc/*/ns/mnt again (61% of the collector's
  // CPU in the churn benchmark).
  const std::vector<int>& members_of(uint64_t inode);
  void namespace_gone(uint64_t inode);
  // Whether an open descriptor alone keeps a namespace that has no process
  // left and holds a tracked device; it is then kept, as scan finds it.
  bool kept_open(uint64_t inode);

  NodeState& node_;
  Bounds& bounds_;
  DirtySet& dirty_;
  std::function<void(uint64_t)> forget_namespace_;
  std::optional<std::map<uint64_t, std::vector<int>>> members_;
};

}  // namespace mountleak

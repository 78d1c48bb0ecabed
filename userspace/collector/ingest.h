// SPDX-License-Identifier: Apache-2.0
#pragma once

// Kernel events in, dirty namespaces out: which namespace changed, who
// created it (and from which), who mounted in it last. Nothing is judged
// here; the namespace is re-read when its events settle.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "collector/bounds.h"
#include "collector/dirty_set.h"
#include "collector/node_state.h"
#include "model/kernel_event.h"

namespace mountleak {

class Ingest {
 public:
  struct Trigger {  // who caused the latest change in a namespace
    int pid = 0;
    std::string comm;
  };
  struct YoungNamespace {  // created a moment ago: its copies are mntns_copy findings
    Clock::time_point created;
    uint64_t from = 0;
    Trigger creator;
  };

  Ingest(NodeState& node, Bounds& bounds, DirtySet& dirty, std::function<void(uint64_t)> forget_namespace)
      : node_(node), bounds_(bounds), dirty_(dirty), forget_namespace_(std::move(forget_namespace)) {}

  // Every kind but busy, which the busy detector judges at once.
  void on_event(const KernelEvent& e, Clock::time_point now);

  const Trigger* last_trigger(uint64_t inode) const;
  // The namespace's creation, while it is young.
  const YoungNamespace* young(uint64_t inode, Clock::time_point now) const;
  void expire_young(Clock::time_point now);
  void forget(uint64_t inode);

 private:
  NodeState& node_;
  Bounds& bounds_;
  DirtySet& dirty_;
  std::function<void(uint64_t)> forget_namespace_;
  std::map<uint64_t, Trigger> last_trigger_;
  std::map<uint64_t, YoungNamespace> young_;
};

}  // namespace mountleak

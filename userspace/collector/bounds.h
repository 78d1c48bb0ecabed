// SPDX-License-Identifier: Apache-2.0
#pragma once

// The model's bounds (CollectorOptions: max_namespaces, max_mounts,
// max_mountinfo_bytes): what is let in, what is trimmed, and a degraded
// event each time a bound is reached or left.

#include <cstdint>
#include <string>
#include <vector>

#include "collector/dirty_set.h"
#include "collector/node_state.h"
#include "findings/report.h"

namespace mountleak {

class Bounds {
 public:
  explicit Bounds(NodeState& node) : node_(node) {}

  // Adds a namespace first seen now: false when it is left out (the model
  // is full); trimmed to its tracked mounts when its table would not fit.
  bool admit_namespace(uint64_t inode, int pid, uint64_t copied_from);
  // A freshly read table, trimmed when the whole would not fit max_mounts.
  LiveModel::Change replace_within_bounds(uint64_t inode, std::vector<MountEntry> mounts);
  // A table not read for its size: the one read before stays.
  void mountinfo_too_large();

  SnapshotLimits snapshot_limits() const;
  // Enters or leaves bounds after a full snapshot, by what it cost.
  void judge_snapshot(const ScanCounters& counters);
  // Leaves a bound once what it protected has room again: trimmed
  // namespaces are marked for a re-read; true when namespaces were left out
  // and a resync may now find them.
  bool recover_when_room(DirtySet& dirty, Clock::time_point now);

  BoundsReport report(std::chrono::milliseconds resync_backoff) const;

 private:
  void degrade(const std::string& bound, size_t limit, const std::string& effect);
  void recover(const std::string& bound);

  NodeState& node_;
};

}  // namespace mountleak

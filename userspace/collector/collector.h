// SPDX-License-Identifier: Apache-2.0
#pragma once

// The userspace half of `trace`: consumes kernel events (from any tier, or a
// recording), keeps the LiveModel current, and turns what happens into
// findings attributed to a container and pod (findings/finding.h):
//
//   mntns_copy     a new namespace kept private copies of tracked mounts
//   hostpath_risk  a bind of a directory holding tracked mounts, private
//   leak           the host unmounted its last mount while copies remain
//   busy           an EBUSY from unmap, umount, O_EXCL open or detach
//
// The work is split by stage: Ingest turns events into dirty namespaces,
// the Reconciler re-reads them and what their changes propagate to, and
// one detector per kind judges what was re-read. Bounds keeps the model
// within its limits. This class runs them in order and resyncs after loss.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "collector/bounds.h"
#include "collector/busy_detector.h"
#include "collector/busy_handover.h"
#include "collector/collector_options.h"
#include "collector/copy_detector.h"
#include "collector/dirty_set.h"
#include "collector/ingest.h"
#include "collector/leak_detector.h"
#include "collector/node_state.h"
#include "collector/reconciler.h"
#include "findings/record.h"
#include "sources/event_sink.h"
#include "sources/namespace_source.h"
#include "util/result.h"

namespace mountleak {

class Collector : public EventSink {
 public:
  Collector(const HostPaths& paths, CollectorOptions options, NamespaceSource& source, RecordSink& out);

  // Builds the model from a full snapshot.
  Status start();
  void on_event(const KernelEvent& event) override;
  // Re-reads settled namespaces, within a slice of time; runs a resync that
  // is due. Call after each poll.
  void tick(Clock::time_point now) { tick(now, options_.reconcile_slice); }
  void tick(Clock::time_point now, std::chrono::milliseconds slice);
  // The kernel dropped events: say so, and rebuild the model from scratch
  // at the next tick the resync backoff allows.
  void on_lost(uint64_t count);

  // The bounds reached now (e.g. "max_namespaces"); each was announced
  // with a degraded event, and each finding made meanwhile lists them.
  const std::set<std::string>& degraded() const { return node_.degraded; }
  // The bounds and what the model holds against them, for stats.
  BoundsReport bounds() const { return bounds_.report(resync_backoff_); }

  // A hook moved between tiers (trace's module watch): a busy call seen by
  // both for a moment is one finding (busy_handover.h).
  void on_hook_moved() { handover_.moved(BusyHandover::Clock::now()); }
  const LiveModel& model() const { return node_.model; }
  // Namespaces alive now that a hostpath_risk was reported for (a gauge
  // for metrics).
  size_t hostpath_risks_now() const { return copies_.risks_now(); }
  const CollectorStats& stats() const { return node_.stats; }
  size_t tracked_device_count();
  // Every tracked mount the model holds, so tests and operators can compare
  // the model with the kernel's truth.
  std::vector<TrackedMount> tracked_mounts();
  std::vector<std::string> warnings() const { return warnings_; }
  const HostLayout& host_layout() { return node_.host_layout(); }

 private:
  void forget_namespace(uint64_t inode);
  // Re-reads due namespaces until `until` and judges what changed; false if
  // some had to wait.
  bool reconcile_due(Clock::time_point now, Clock::time_point until, bool all_dirty);
  void judge(const std::vector<Reconciler::Reread>& reread, Clock::time_point now);
  void on_busy(const KernelEvent& e, const BusyFailure& busy);
  void resync(Clock::time_point now);
  void schedule_resync(Clock::time_point now);

  CollectorOptions options_;
  NodeState node_;
  DirtySet dirty_;
  Bounds bounds_;
  Ingest ingest_;
  Reconciler reconciler_;
  LeakDetector leaks_;
  CopyDetector copies_;
  BusyDetector busy_;
  BusyHandover handover_;
  std::vector<std::string> warnings_;

  Clock::time_point last_cache_clear_;
  Clock::time_point last_sweep_;
  bool resync_wanted_ = false;
  uint64_t lost_unreported_ = 0;  // lost since the last lost event
  Clock::time_point next_resync_{};
  Clock::time_point last_resync_{};
  std::chrono::milliseconds resync_backoff_{0};
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// How the collector runs, and what it counts.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "findings/cmdline_redaction.h"
#include "sources/procfs.h"

namespace mountleak {

using Clock = std::chrono::steady_clock;

class NodeLookups;

struct CollectorOptions {
  std::chrono::milliseconds settle{50};     // quiet time before a namespace is re-read
  std::chrono::milliseconds max_delay{500}; // ... but never later than this after its first event
  std::chrono::seconds young{5};            // how long a new namespace is watched for copies
  // How often every process's namespace is looked up, to drop the
  // namespaces that died (no event says so) and learn of new members.
  std::chrono::milliseconds liveness_period{2000};
  bool reconcile_propagation = true;        // re-read namespaces a change propagates to
  // The passive tier: no hook sees unshare or setns, so every sweep also
  // takes in the namespaces it finds that the model does not hold.
  bool discover_in_sweep = false;
  CmdlinePolicy cmdline = CmdlinePolicy::kRedacted;

  // Bounds for months on a node next to workloads nobody vetted (trace
  // --help says what each costs when it is reached).
  size_t max_namespaces = 16384;
  size_t max_mounts = 262144;  // about 90 MiB of model at ~350 bytes a mount
  size_t max_mountinfo_bytes = kMaxProcFileBytes;
  // Resyncs after lost events: the first at once, then no closer together
  // than an interval that doubles while losses keep coming.
  std::chrono::milliseconds resync_min_interval{1000};
  std::chrono::milliseconds resync_max_interval{60000};
  // How long one tick, or a busy event catching up, may spend re-reading
  // namespaces; what is left waits for the next tick.
  std::chrono::milliseconds reconcile_slice{250};
  // True once the process is asked to stop: a resync gives up at once.
  std::function<bool()> interrupted;

  // Where the collector's truth comes from besides mount tables, and its
  // clocks: the node and now by default; a replay drives both from a log.
  NodeLookups* lookups = nullptr;  // not owned; null: the node itself
  std::function<Clock::time_point()> now;
  std::function<std::chrono::system_clock::time_point()> wall_now;  // stamps records
};

// Room for every EventKind value (model/kernel_event.h).
constexpr size_t kEventKindSlots = 16;

struct CollectorStats {
  uint64_t events = 0;
  // The same by kind (EventKind's value), for metrics.
  std::array<uint64_t, kEventKindSlots> events_by_kind{};
  uint64_t reconciles = 0;
  uint64_t reconcile_failures = 0;
  uint64_t namespaces_gone = 0;
  uint64_t findings = 0;
  uint64_t resyncs = 0;
  uint64_t unresolved_busy = 0;  // busy events whose device could not be named
  uint64_t busy_path_timeouts = 0;  // busy paths whose lookup hit the deadline
  uint64_t lookups_stuck = 0;       // killed lookups a file system still holds
  uint64_t busy_repeated = 0;       // one call seen by two tiers while a hook moved
  // The passive tier: namespaces first found by a sweep, not at a fork or exec.
  uint64_t namespaces_found_by_sweep = 0;
  // What the bounds cost (see CollectorOptions).
  uint64_t namespaces_left_out = 0;     // not in the model at all
  uint64_t namespaces_trimmed = 0;      // kept with the tracked mounts only
  uint64_t mountinfo_too_large = 0;     // tables not read for their size
  uint64_t reconcile_slices_spent = 0;  // ticks that left re-reads for the next
  uint64_t resyncs_deferred = 0;        // losses whose resync waited for the backoff
};

}  // namespace mountleak

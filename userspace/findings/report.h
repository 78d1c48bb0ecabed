// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the commands report about themselves, as values beside the findings:
// trace's ready and stats, and scan's holders per device and its summary.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "findings/holders.h"
#include "findings/host_layout.h"
#include "model/dev_id.h"
#include "model/mountinfo.h"
#include "sources/kernel_tiers.h"
#include "model/node_snapshot.h"

namespace mountleak {

// trace is attached and has read the node: findings follow.
struct Ready {
  std::vector<HookChoice> hooks;  // the tier each hook runs on
  std::string kernel;             // release
  std::string tracefs;            // how tracepoint ids were read
  uint64_t host_mntns = 0;
  size_t namespaces = 0;
  size_t tracked_devices = 0;
  std::vector<std::string> devices;  // --devices globs
  std::vector<std::string> refused;  // programs the kernel refused
  std::map<std::string, std::string> attached_in;
  std::vector<std::string> warnings;
  std::optional<HostLayout> host_layout;  // always set; optional only as it has no empty state
  std::vector<std::string> capabilities;  // kept once attached
  std::vector<std::string> watched_modules;  // --watch-modules: those whose coming or going moves a hook
  TierChoice tier_asked = TierChoice::kAuto;   // --tier
  int pid = 0;
};

// A hook moved to another tier while trace runs, because the kernel module
// its best candidates hook came or went (sources/bpf/late_modules.h).
struct HookMoved {
  std::string hook;
  std::string module;
  bool module_loaded = false;         // it came (true) or went
  std::optional<Tier> from;           // the tier before; none: nothing served it
  std::vector<std::string> from_programs;
  std::string from_kind;              // "tracepoint", "fexit", "kprobe"...
  HookChoice to;                      // where it is now (unchanged when `error` is set)
  std::string to_kind;
  std::string error;                  // the move was not made: why
};

// The bounds trace runs within, and what the model holds against them.
struct BoundsReport {
  size_t max_namespaces = 0;
  size_t namespaces = 0;
  size_t max_mounts = 0;
  size_t mounts = 0;
  size_t namespaces_trimmed_now = 0;
  size_t max_mountinfo_bytes = 0;
  int64_t resync_min_interval_ms = 0;
  int64_t resync_max_interval_ms = 0;
  int64_t resync_backoff_ms = 0;
  int64_t reconcile_slice_ms = 0;
  std::set<std::string> degraded;
};

// A tracked device's mount as the model holds it, to compare with the kernel.
struct TrackedMount {
  uint64_t mntns = 0;
  std::string mountpoint;
  DevId device;
};

// trace's last word: what it counted, in a fixed order of named counters
// (kernel, collector, log), and the model's final state.
struct Stats {
  std::vector<std::pair<std::string, uint64_t>> counters;
  BoundsReport bounds;
  std::vector<TrackedMount> tracked_mounts;
};

// scan: one device and every holder of it.
struct HoldersFound {
  DeviceHolders device;
};

// scan's last word: how the node was read and what that cost.
struct ScanSummary {
  std::string method;       // how mount tables were read: "statmount" or "mountinfo"
  std::string method_note;  // why mountinfo, when statmount was not used
  uint64_t host_mntns = 0;
  std::string host_mntns_source;
  size_t devices = 0;
  std::optional<size_t> risks;  // scan --risks: how many were found
  bool needs_action = false;
  ScanCounters counters;
  std::vector<ParseIssue> issues;
  std::vector<std::string> warnings;
  std::optional<HostLayout> layout;
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// What every part of the collector shares: the live model, which devices
// are tracked, the host's layout, who holds a device, and where findings go.
// Ingest, the reconciler and the detectors each read and change it; the
// Collector owns it.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "collector/collector_options.h"
#include "collector/live_model.h"
#include "collector/node_lookups.h"
#include "config/host_paths.h"
#include "findings/attribution.h"
#include "findings/holders.h"
#include "findings/record.h"
#include "sources/namespace_source.h"

namespace mountleak {

class NodeState {
  // First: `lookups` below refers to it when the options name none.
  std::unique_ptr<LiveNodeLookups> own_lookups_;

 public:
  NodeState(const HostPaths& paths, const CollectorOptions& options, NamespaceSource& source, RecordSink& out);

  const HostPaths& paths;
  const CollectorOptions& options;
  NamespaceSource& source;
  LiveModel model;
  CollectorStats stats;
  // Who processes are, devices, the host's layout (node_lookups.h).
  NodeLookups& lookups;
  // The bounds reached now (see Bounds); every finding lists them.
  std::set<std::string> degraded;

  // Replaces the model with a full snapshot.
  void reset(NodeSnapshot snapshot);

  // Whether --devices tracks a device (see tracked_cache_).
  bool tracked(DevId dev);
  void forget_unheld_devices(Clock::time_point now);
  std::set<DevId> tracked_devices_in(uint64_t inode);
  // What a table trimmed to fit keeps: its tracked mounts.
  const LiveModel::KeepMount& keep_tracked() const { return keep_tracked_; }
  // What every namespace but the host's is narrowed to as it is read (with
  // the mounts below them to its root; LiveModel::narrow_with): mounts of a
  // tracked device or of a dm device on one (a busy finding names its
  // holders), and FUSE and network mounts (the holder walk matches open
  // descriptors to those by mount id).
  const LiveModel::KeepMount& keep_for_findings() const { return keep_for_findings_; }

  // The host's layout (kubelet root, host paths), built on first use after
  // the host's table changed.
  const HostLayout& host_layout();
  void host_table_changed() { host_layout_.reset(); }

  // Everyone holding the device now, the device named afresh; `open` adds
  // the processes that hold it without a mount (open_holders()).
  DeviceHolders holders_of(DevId dev, std::vector<FdHolder> open = {});
  // A finding about the device found, naming these of its holders and the
  // bounds reached now.
  template <class Finding>
  Finding finding(const DeviceHolders& found, std::vector<Holder> holders) const {
    Finding f;
    f.device = found.device;
    f.holders = std::move(holders);
    f.degraded = degraded;
    return f;
  }
  Culprit culprit(int pid, const std::string& comm);

  // The collector's clock (CollectorOptions::now, else the real one).
  Clock::time_point now() const { return options.now ? options.now() : Clock::now(); }

  bool wants_raw() const { return out_.wants_raw(); }
  // Stamps the time; every event but a raw one counts as a finding.
  void emit(Event event);

 private:
  RecordSink& out_;
  HolderFinder finder_;
  std::optional<HostLayout> host_layout_;
  LiveModel::KeepMount keep_tracked_;
  LiveModel::KeepMount keep_for_findings_;

  // Whether --devices tracks a device, from its kernel name in sysfs: asked
  // for every mount, so remembered while some namespace mounts the device
  // (its number cannot be given to another then) and briefly otherwise.
  // The names a finding prints (pool, image, backing file) are never
  // remembered: holders_of() reads them afresh.
  struct TrackedDecision {
    bool tracked = false;
    Clock::time_point decided_at;
  };
  std::map<DevId, TrackedDecision> tracked_cache_;
  // Whether an untracked device is a dm device whose table sits on a
  // tracked one (its failing remove is a busy finding, which names its
  // holders); decided and forgotten as tracked_cache_ is.
  std::map<DevId, TrackedDecision> stacked_cache_;
  bool stacked_on_tracked(DevId dev);
};

}  // namespace mountleak

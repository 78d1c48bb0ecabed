// SPDX-License-Identifier: Apache-2.0
#pragma once

// The userspace half of `trace`: consumes raw events (from any tier, or a
// recording), keeps the LiveModel current, and turns what happens into
// findings attributed to a container and pod:
//
//   mntns_copy     a new namespace kept private copies of tracked mounts
//   hostpath_risk  a bind of a directory holding tracked mounts, private
//   leak           the host unmounted its last mount while copies remain
//   busy           an EBUSY from unmap, umount, O_EXCL open or detach
//
// Events only say *that* a namespace changed; the namespace's mountinfo
// says *what* it now holds. A namespace is re-read once its events settle
// (so a container's setup is judged as a whole, not half way), at once when
// a finding needs it, and with every namespace its change propagates to.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "collector/live_model.h"
#include "config/host_paths.h"
#include "findings/attribution.h"
#include "findings/holders.h"
#include "sources/event_sink.h"
#include "util/result.h"

namespace mountleak {

using Clock = std::chrono::steady_clock;

// Where the model's truth comes from: the real procfs, or a test's fake.
class NamespaceSource {
 public:
  virtual ~NamespaceSource() = default;
  virtual Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) = 0;
  // A mount table longer than max_mountinfo_bytes is an EFBIG error.
  virtual Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) = 0;
  // The mount namespace a process is in; none when it is gone.
  virtual std::optional<uint64_t> namespace_of(int pid) = 0;
  // Every process by mount namespace, from one pass over all of them.
  virtual std::map<uint64_t, std::vector<int>> members() = 0;
};

class ProcfsNamespaceSource : public NamespaceSource {
 public:
  ProcfsNamespaceSource(const HostPaths& paths, std::string host_mntns)
      : paths_(paths), host_mntns_(std::move(host_mntns)) {}
  Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) override;
  Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) override;
  std::optional<uint64_t> namespace_of(int pid) override;
  std::map<uint64_t, std::vector<int>> members() override;

 private:
  const HostPaths& paths_;
  std::string host_mntns_;
};

// Receives every event the collector produces; `raw` marks the kernel
// events themselves (mount, umount, mntns, setns, ...).
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual void emit(const nlohmann::json& event, bool raw) = 0;
  // Raw events cost a JSON object each; skip them when nobody reads them.
  virtual bool wants_raw() const = 0;
};

struct CollectorOptions {
  std::chrono::milliseconds settle{50};     // quiet time before a namespace is re-read
  std::chrono::milliseconds max_delay{500}; // ... but never later than this after its first event
  std::chrono::seconds young{5};            // how long a new namespace is watched for copies
  // How often every process's namespace is looked up, to drop the
  // namespaces that died (no event says so) and learn of new members.
  std::chrono::milliseconds liveness_period{2000};
  bool reconcile_propagation = true;        // re-read namespaces a change propagates to
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
};

struct CollectorStats {
  uint64_t events = 0;
  uint64_t reconciles = 0;
  uint64_t reconcile_failures = 0;
  uint64_t namespaces_gone = 0;
  uint64_t findings = 0;
  uint64_t resyncs = 0;
  uint64_t unresolved_busy = 0;  // busy events whose device could not be named
  uint64_t busy_path_timeouts = 0;  // busy paths whose lookup hit the deadline
  uint64_t lookups_stuck = 0;       // killed lookups a file system still holds
  // What the bounds cost (see CollectorOptions).
  uint64_t namespaces_left_out = 0;     // not in the model at all
  uint64_t namespaces_trimmed = 0;      // kept with the tracked mounts only
  uint64_t mountinfo_too_large = 0;     // tables not read for their size
  uint64_t reconcile_slices_spent = 0;  // ticks that left re-reads for the next
  uint64_t resyncs_deferred = 0;        // losses whose resync waited for the backoff
};

class Collector : public EventSink {
 public:
  Collector(const HostPaths& paths, CollectorOptions options, NamespaceSource& source,
            OutputSink& out);

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
  const std::set<std::string>& degraded() const { return degraded_; }
  // The bounds and what the model holds against them, for stats.
  nlohmann::json bounds_json() const;

  const LiveModel& model() const { return model_; }
  const CollectorStats& stats() const { return stats_; }
  size_t tracked_device_count();
  // Every tracked mount the model holds: [{"mntns","mountpoint","device"}],
  // so tests and operators can compare the model with the kernel's truth.
  nlohmann::json tracked_mounts_json();
  std::vector<std::string> warnings() const { return warnings_; }
  // The host's layout (kubelet root, host paths), built on first use after
  // the host's table changed.
  const HostLayout& host_layout();

 private:
  struct Dirty {
    Clock::time_point first;
    Clock::time_point last;
  };
  struct Trigger {  // who caused the latest change in a namespace
    int pid = 0;
    std::string comm;
  };
  struct YoungNamespace {
    Clock::time_point created;
    uint64_t from = 0;
    Trigger creator;
  };

  bool tracked(DevId dev);
  DeviceRef device(DevId dev);
  void mark_dirty(uint64_t inode, Clock::time_point now);
  // Every process's mount namespace, from one pass over /proc made the first
  // time a tick asks: when containers exit by the dozen, each dead namespace
  // would otherwise stat every /proc/*/ns/mnt again (61% of the collector's
  // CPU in the churn benchmark).
  const std::vector<int>& members_of(uint64_t inode);
  // A namespace's death sends no event: without this sweep a dead
  // container's namespace stayed in the model (and in every propagation
  // lookup) until its inode was reused.
  void sweep_dead_namespaces(Clock::time_point now);
  // The same for the namespaces holding one device, at once: a busy finding
  // must not name a container that exited since the last sweep.
  void drop_dead_holders(DevId dev);
  void forget_namespace(uint64_t inode);
  // Adds a namespace first seen now, within the bounds: false when it is
  // left out (the model is full), trimmed when its table would not fit.
  bool admit_namespace(uint64_t inode, int pid, uint64_t copied_from);
  // A bound was reached, or is no longer: said once each way.
  void degrade(const std::string& bound, size_t limit, const std::string& effect);
  void recover(const std::string& bound);
  // Leaves a bound once what it protected has room again.
  void recover_when_room();
  SnapshotLimits snapshot_limits() const;
  // Enters or leaves bounds after a full snapshot, by what it cost.
  void judge_snapshot_limits(const ScanCounters& counters);
  void resync(Clock::time_point now);
  // Re-reads one namespace and everything its change propagates to, until
  // `until` (the rest is left dirty); runs the leak, copy and hostPath
  // checks on what changed.
  void reconcile(uint64_t inode, Clock::time_point now, Clock::time_point until);
  // Re-reads due namespaces until `until`; false if some had to wait.
  bool reconcile_due(Clock::time_point now, Clock::time_point until, bool all_dirty);
  bool reconcile_one(uint64_t inode, LiveModel::Change& change);
  // A freshly read table, trimmed when the whole would not fit max_mounts.
  LiveModel::Change replace_within_bounds(uint64_t inode, std::vector<MountEntry> mounts);
  void check_leaks(uint64_t inode, const std::set<DevId>& before);
  // After a resync: private copies of devices the host no longer mounts.
  void check_orphaned_copies();
  // New private copies of tracked mounts: hostpath_risk when a bind brought
  // them, mntns_copy when the namespace is new.
  void check_copies(uint64_t inode, Clock::time_point now);
  void on_busy(const KernelEvent& e, const BusyFailure& busy);
  struct BusyDevice {
    DevId dev;
    const char* from;  // "kernel", "mount_table", "path" or "rbd_id": how it was named
  };
  std::optional<BusyDevice> busy_device(const KernelEvent& e, const BusyFailure& busy);
  std::set<DevId> tracked_devices_in(uint64_t inode);

  DeviceHolders holders_of(DevId dev);
  nlohmann::json finding(const std::string& kind, const DeviceHolders& d,
                         const std::vector<Holder>& holders);
  nlohmann::json process_json(int pid, const std::string& comm);
  void emit(nlohmann::json event, bool raw = false);

  const HostPaths& paths_;
  CollectorOptions options_;
  NamespaceSource& source_;
  OutputSink& out_;
  LiveModel model_;
  Attributor attributor_;
  HolderFinder finder_;
  std::optional<HostLayout> host_layout_;
  CollectorStats stats_;
  std::vector<std::string> warnings_;

  // Whether --devices tracks a device, from its kernel name in sysfs: asked
  // for every mount, so remembered while some namespace mounts the device
  // (its number cannot be given to another then) and briefly otherwise.
  // The names a finding prints (pool, image, backing file) are never
  // remembered: device() reads them afresh.
  struct TrackedDecision {
    bool tracked = false;
    Clock::time_point decided_at;
  };
  std::map<DevId, TrackedDecision> tracked_cache_;
  void forget_unheld_devices(Clock::time_point now);
  std::map<uint64_t, Dirty> dirty_;
  std::map<uint64_t, Trigger> last_trigger_;
  std::map<uint64_t, YoungNamespace> young_;
  std::set<std::pair<uint64_t, DevId>> reported_leaks_;
  std::set<std::pair<uint64_t, DevId>> reported_copies_;  // (mntns, device): copy or hostPath risk
  Clock::time_point last_cache_clear_ = Clock::now();
  std::optional<std::map<uint64_t, std::vector<int>>> members_;  // see members_of; one tick long
  Clock::time_point last_sweep_ = Clock::now();

  LiveModel::KeepMount keep_tracked_;  // what a trimmed table keeps
  std::set<std::string> degraded_;
  bool resync_wanted_ = false;
  uint64_t lost_unreported_ = 0;  // lost since the last lost event
  Clock::time_point next_resync_{};
  Clock::time_point last_resync_{};
  std::chrono::milliseconds resync_backoff_{0};
};

}  // namespace mountleak

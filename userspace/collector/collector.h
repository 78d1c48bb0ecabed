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
  virtual Result<NodeSnapshot> snapshot() = 0;
  virtual Result<MountNamespace> read(int pid) = 0;
  // The mount namespace a process is in; none when it is gone.
  virtual std::optional<uint64_t> namespace_of(int pid) = 0;
  // Every process by mount namespace, from one pass over all of them.
  virtual std::map<uint64_t, std::vector<int>> members() = 0;
};

class ProcfsNamespaceSource : public NamespaceSource {
 public:
  ProcfsNamespaceSource(const HostPaths& paths, std::string host_mntns)
      : paths_(paths), host_mntns_(std::move(host_mntns)) {}
  Result<NodeSnapshot> snapshot() override;
  Result<MountNamespace> read(int pid) override;
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
};

class Collector : public EventSink {
 public:
  Collector(const HostPaths& paths, CollectorOptions options, NamespaceSource& source,
            OutputSink& out);

  // Builds the model from a full snapshot.
  Status start();
  void on_event(const ml_event& event) override;
  // Re-reads settled namespaces; call after each poll.
  void tick(Clock::time_point now);
  // The kernel dropped events: say so, then rebuild the model from scratch.
  void on_lost(uint64_t count);

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
  // Re-reads one namespace and everything its change propagates to; runs
  // the leak, copy and hostPath checks on what changed.
  void reconcile(uint64_t inode, Clock::time_point now);
  bool reconcile_one(uint64_t inode, LiveModel::Change& change);
  void check_leaks(uint64_t inode, const std::set<DevId>& before);
  // New private copies of tracked mounts: hostpath_risk when a bind brought
  // them, mntns_copy when the namespace is new.
  void check_copies(uint64_t inode, Clock::time_point now);
  void on_busy(const ml_event& e);
  struct BusyDevice {
    DevId dev;
    const char* from;  // "kernel", "mount_table", "path" or "rbd_id": how it was named
  };
  std::optional<BusyDevice> busy_device(const ml_event& e);
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

  std::map<DevId, std::optional<DeviceRef>> device_cache_;
  std::map<uint64_t, Dirty> dirty_;
  std::map<uint64_t, Trigger> last_trigger_;
  std::map<uint64_t, YoungNamespace> young_;
  std::set<std::pair<uint64_t, DevId>> reported_leaks_;
  std::set<std::pair<uint64_t, DevId>> reported_copies_;  // (mntns, device): copy or hostPath risk
  Clock::time_point last_cache_clear_ = Clock::now();
  std::optional<std::map<uint64_t, std::vector<int>>> members_;  // see members_of; one tick long
  Clock::time_point last_sweep_ = Clock::now();
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the collector read from the node, as `trace --log` records it so
// that `mountleak replay` can answer the same questions without the node:
// events only say *that* a namespace changed, these say *what* it held, who
// its processes were and what its devices are. Written only to sinks that
// ask for them (RecordSink::wants_facts), each once per read; the answers
// that repeat most (which processes are in which namespace) as changes.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "findings/attribution.h"
#include "findings/host_directory.h"
#include "model/device.h"
#include "model/node_snapshot.h"

namespace mountleak {

// The collector's settings that change what it finds; the first snapshot
// of a run carries them, so a replay judges as the live run did.
struct RecordedSettings {
  int64_t settle_ms = 50;
  int64_t max_delay_ms = 500;
  int64_t young_ms = 5000;
  int64_t liveness_period_ms = 2000;
  bool reconcile_propagation = true;
  bool discover_in_sweep = false;  // the passive tier
  uint64_t max_namespaces = 0;
  uint64_t max_mounts = 0;
  uint64_t max_mountinfo_bytes = 0;
  int64_t resync_min_interval_ms = 1000;
  int64_t resync_max_interval_ms = 60000;
};

// A whole node read: at start (`start`: a new run of trace begins) and at
// each resync.
struct RecordedSnapshot {
  bool start = false;
  std::optional<RecordedSettings> settings;  // with `start`
  std::string error;                         // the read failed; nothing else is set
  NodeSnapshot snapshot;  // namespaces, host_mntns, counters, warnings (no processes)
};

// One namespace's table read through one of its processes.
struct RecordedRead {
  int pid = 0;
  int error_errno = 0;  // 0: read; else why not (ESRCH, EFBIG, ...)
  std::string error;
  MountNamespace ns;    // inode and mounts when read
};

// Which processes are in which namespace, as a change to the answer
// recorded before (the host's namespace left out: the collector never asks
// about it). `full`: the whole answer, not a change.
struct RecordedMembers {
  bool full = false;
  std::map<uint64_t, std::vector<int>> set;  // namespaces whose members are now these
  std::vector<uint64_t> gone;                // namespaces no process is in any more
};

// The namespace one process is in; none when it is gone.
struct RecordedNamespaceOf {
  int pid = 0;
  std::optional<uint64_t> inode;
};

// Who a set of processes is (pids, processes, container, pod, the mounts
// the runtime made for it).
// The answer for the same pids often repeats (each finding names its
// holders again): then only the pids are written, with `same`.
struct RecordedAttribution {
  Attribution who;    // only who.pids with `same`
  bool same = false;  // the same answer as last recorded for these pids
  // The pids asked about, when not who.pids (kernel threads are left out
  // of an answer); the question the answer is for.
  std::vector<int> asked;
  const std::vector<int>& question() const { return asked.empty() ? who.pids : asked; }
};

// Whether a device is tracked (a question asked of sysfs), or what it is.
struct RecordedDevice {
  DevId dev;
  std::optional<bool> tracked;        // set for a tracked() answer
  std::optional<DeviceRef> described; // set for a describe_device() answer
};

// The host's layout from the host's table: the kubelet root as resolved.
struct RecordedHostLayout {
  std::string host_root;
  HostDirectory kubelet;
};

// The device a busy event named (by its pid and kernel time), if any.
struct RecordedBusyDevice {
  uint32_t pid = 0;
  uint64_t ts_ns = 0;
  std::optional<DevId> dev;
  std::string from;
};

// The processes found keeping a device busy without a mount (a busy event
// asks; NodeLookups::open_holders).
struct RecordedOpenHolders {
  DevId dev;
  std::vector<FdHolder> found;
};

// The descriptor found keeping a namespace open once its last process had
// left (NamespaceSource::held_open); pid 0 when none does.
struct RecordedHeldOpen {
  uint64_t inode = 0;
  int pid = 0;
  int fd = -1;
};

using NodeFact = std::variant<RecordedSnapshot, RecordedRead, RecordedMembers, RecordedNamespaceOf,
                              RecordedAttribution, RecordedDevice, RecordedHostLayout, RecordedBusyDevice,
                              RecordedOpenHolders, RecordedHeldOpen>;

}  // namespace mountleak

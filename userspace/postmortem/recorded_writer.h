// SPDX-License-Identifier: Apache-2.0
#pragma once

// `trace --log` records what the collector reads from the node, so that
// `mountleak replay` can feed the log's raw events through a collector of
// its own and get the same answers (findings/recorded_facts.h says what is
// recorded and why). Each wraps the live source and writes every answer it
// gives, as it gives it, to the sinks that want facts (the log).
//
// Size: mount tables go in only when read (a snapshot at start and at each
// resync, a namespace's table when it changed); which processes are in which
// namespace, asked every liveness period, goes in only as changes.

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "collector/node_lookups.h"
#include "findings/record.h"
#include "sources/namespace_source.h"

namespace mountleak {

// When each answer was read: the collector's wall clock (tests drive it).
using WallClock = std::function<std::chrono::system_clock::time_point()>;

class RecordingNamespaceSource : public NamespaceSource {
 public:
  // `settings` go into the first snapshot, which starts a run.
  RecordingNamespaceSource(NamespaceSource& inner, RecordSink& out, RecordedSettings settings, WallClock now = {})
      : inner_(inner), out_(out), settings_(settings), now_(std::move(now)) {}
  Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) override;
  Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) override;
  std::optional<uint64_t> namespace_of(int pid) override;
  std::map<uint64_t, std::vector<int>> members() override;
  std::optional<DescriptorPin> held_open(uint64_t inode, const DescriptorPin* last) override;
  // What `lookups` answers while a snapshot is read (whether each device
  // is tracked, for the narrowing) is written after the snapshot, not
  // before: replay starts a run at its first snapshot and forgets what came
  // earlier.
  void answers_during_snapshot(class RecordingNodeLookups* lookups) { lookups_ = lookups; }

 private:
  void write(NodeFact fact);

  NamespaceSource& inner_;
  class RecordingNodeLookups* lookups_ = nullptr;
  RecordSink& out_;
  RecordedSettings settings_;
  WallClock now_;
  bool started_ = false;
  uint64_t host_mntns_ = 0;
  // The members as last recorded (or as the last snapshot had them).
  std::map<uint64_t, std::vector<int>> members_;
};

// The members of each namespace but the host's, as a snapshot has them:
// where recorded changes to members() start from, on both sides.
std::map<uint64_t, std::vector<int>> members_baseline(const NodeSnapshot& snapshot);
// What changed from `before` to `after`.
RecordedMembers members_change(const std::map<uint64_t, std::vector<int>>& before,
                               const std::map<uint64_t, std::vector<int>>& after);

class RecordingNodeLookups : public NodeLookups {
 public:
  RecordingNodeLookups(NodeLookups& inner, RecordSink& out, WallClock now = {})
      : inner_(inner), out_(out), now_(std::move(now)) {}
  Attribution attribute(const std::vector<int>& pids) override;
  const ProcessInfo* process(int pid) override { return inner_.process(pid); }
  void set_host_mntns(uint64_t inode) override { inner_.set_host_mntns(inode); }
  void forget_processes() override { inner_.forget_processes(); }
  bool tracked(DevId dev) override;
  DeviceRef describe_device(DevId dev) override;
  HostLayout host_layout(const std::vector<MountEntry>& host_mounts) override;
  std::optional<BusyDevice> busy_device(const KernelEvent& e,
                                        const std::function<std::optional<BusyDevice>()>& resolve) override;
  std::vector<FdHolder> open_holders(DevId dev, const std::vector<DevId>& along,
                                     const std::map<uint64_t, MountNamespace>& namespaces) override;

  // While held, answers are kept and written at release(), in order.
  void hold() { holding_ = true; }
  void release();

 private:
  void write(NodeFact fact);

  NodeLookups& inner_;
  RecordSink& out_;
  WallClock now_;
  bool holding_ = false;
  std::vector<Record> held_;
  // Each set of pids' answer as last written (its JSON), so a repeat costs
  // only its pids; bounded, forgotten wholesale when full.
  std::map<std::vector<int>, std::string> last_attribution_;
};

}  // namespace mountleak

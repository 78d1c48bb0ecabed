// SPDX-License-Identifier: Apache-2.0
#pragma once

// A node as a unit test scripts it, for the collector and its stages: one
// mount table per namespace, the kernel events that say they changed, and
// a sink that keeps what is found as `-o json` prints it.

#include <sched.h>

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "findings/record.h"
#include "model/kernel_event.h"
#include "mount_entries.h"
#include "output/record_json.h"
#include "sources/namespace_source.h"

namespace mountleak::testing::scripted {

constexpr uint64_t kHostNs = 4026531840;
constexpr uint64_t kContainerNs = 4026532300;
constexpr int kHostPid = 1;
constexpr int kContainerPid = 4242;
const DevId kRbd{7, 0};   // tracked ("loop0" in the fake sysfs)
const DevId kRoot{254, 0};

// The host's root, a peer in group 1; with a tracked volume mounted (group 5).
inline std::vector<MountEntry> host_root() { return {mount_entry(1, 0, kRoot, "/", "/", 1)}; }
inline std::vector<MountEntry> host_with_volume() {
  auto m = host_root();
  m.push_back(mount_entry(10, 1, kRbd, "/", "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a", 5));
  return m;
}

// The node as a test scripts it: one mount table per namespace.
class ScriptedNode : public NamespaceSource {
 public:
  std::map<uint64_t, MountNamespace> namespaces;
  std::map<int, uint64_t> pid_ns;

  void set(uint64_t inode, int pid, std::vector<MountEntry> mounts) {
    MountNamespace& ns = namespaces[inode];
    ns.inode = inode;
    ns.pids = {pid};
    ns.mounts = std::move(mounts);
    pid_ns[pid] = inode;
  }
  // Leaves namespaces out past limits.max_namespaces, as the enumerator
  // does (the host's never); trimming is the enumerator's own test's.
  Result<NodeSnapshot> snapshot(const SnapshotLimits& limits) override {
    NodeSnapshot s;
    if (namespaces.count(kHostNs)) s.namespaces[kHostNs] = namespaces.at(kHostNs);
    for (const auto& [inode, ns] : namespaces) {
      if (inode == kHostNs) continue;
      if (limits.max_namespaces && s.namespaces.size() >= limits.max_namespaces) {
        ++s.counters.namespaces_left_out;
        continue;
      }
      s.namespaces[inode] = ns;
    }
    s.host_mntns = kHostNs;
    s.method = "mountinfo";
    return s;
  }
  Result<MountNamespace> read(int pid, size_t max_mountinfo_bytes) override {
    auto it = pid_ns.find(pid);
    if (it == pid_ns.end() || !namespaces.count(it->second)) return Error{"no such process", ESRCH};
    if (oversized.count(it->second)) return Error{"longer than " + std::to_string(max_mountinfo_bytes), EFBIG};
    return namespaces.at(it->second);
  }
  std::set<uint64_t> oversized;  // namespaces whose table is "too large" to read
  std::optional<uint64_t> namespace_of(int pid) override {
    auto it = pid_ns.find(pid);
    if (it == pid_ns.end() || !namespaces.count(it->second)) return std::nullopt;
    return it->second;
  }
  std::map<uint64_t, std::vector<int>> members() override {
    std::map<uint64_t, std::vector<int>> out;
    for (const auto& [pid, inode] : pid_ns)
      if (namespaces.count(inode)) out[inode].push_back(pid);
    return out;
  }
  // Descriptors that keep a namespace open (by inode), and how often asked.
  std::map<uint64_t, DescriptorPin> descriptors;
  int held_open_asked = 0;
  std::optional<DescriptorPin> held_open(uint64_t inode, const DescriptorPin*) override {
    ++held_open_asked;
    auto it = descriptors.find(inode);
    if (it == descriptors.end()) return std::nullopt;
    return it->second;
  }
};

// Findings as `-o json` prints them, so these tests pin the JSON too.
class RecordedOutput : public RecordSink {
 public:
  std::vector<nlohmann::json> events;
  bool wants_raw() const override { return false; }
  void write(const Record& record) override { events.push_back(record_json(record)); }
  std::vector<nlohmann::json> of(const std::string& kind) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : events)
      if (e["event"] == kind) out.push_back(e);
    return out;
  }
};

inline KernelEvent event(EventKind kind, int pid, uint64_t mntns, uint64_t old_mntns = 0) {
  KernelEvent e;
  e.kind = kind;
  e.pid = static_cast<uint32_t>(pid);
  e.tid = e.pid;
  e.mntns = static_cast<uint32_t>(mntns);
  e.comm = "test";
  // A namespace made (clone or unshare with CLONE_NEWNS), as every tier but
  // the passive one's exec hook says it (seen_at_exec below).
  if (kind == EventKind::kMntns)
    e.payload = NamespaceSwitch{static_cast<uint32_t>(old_mntns), CLONE_NEWNS};
  else if (kind == EventKind::kSetns)
    e.payload = NamespaceSwitch{static_cast<uint32_t>(old_mntns), 0};
  else if (kind == EventKind::kUmount)
    e.payload = UmountCall{};
  return e;
}

// The passive tier's exec hook: a task seen in a namespace other than its
// parent's, made here or long before (flags 0).
inline KernelEvent seen_at_exec(int pid, uint64_t mntns, uint64_t parent_mntns) {
  KernelEvent e = event(EventKind::kMntns, pid, mntns, parent_mntns);
  std::get<NamespaceSwitch>(e.payload).flags = 0;
  return e;
}

inline KernelEvent busy_event(int pid, uint64_t mntns, BusySource source, const std::string& path) {
  KernelEvent e = event(EventKind::kBusy, pid, mntns);
  BusyFailure busy;
  busy.source = source;
  busy.path = path;
  e.payload = busy;
  return e;
}

}  // namespace mountleak::testing::scripted

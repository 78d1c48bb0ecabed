// SPDX-License-Identifier: Apache-2.0
#include "postmortem/recorded_writer.h"

#include <chrono>

#include "output/json_line.h"
#include "output/recorded_facts_json.h"

namespace mountleak {

std::map<uint64_t, std::vector<int>> members_baseline(const NodeSnapshot& snapshot) {
  std::map<uint64_t, std::vector<int>> out;
  for (const auto& [inode, ns] : snapshot.namespaces)
    if (inode != snapshot.host_mntns && !ns.pids.empty()) out[inode] = ns.pids;
  return out;
}

RecordedMembers members_change(const std::map<uint64_t, std::vector<int>>& before,
                               const std::map<uint64_t, std::vector<int>>& after) {
  RecordedMembers change;
  for (const auto& [inode, pids] : after)
    if (auto it = before.find(inode); it == before.end() || it->second != pids) change.set[inode] = pids;
  for (const auto& [inode, pids] : before)
    if (!after.count(inode)) change.gone.push_back(inode);
  return change;
}

void RecordingNamespaceSource::write(NodeFact fact) {
  out_.write(Record{now_ ? now_() : std::chrono::system_clock::now(), std::move(fact)});
}

Result<NodeSnapshot> RecordingNamespaceSource::snapshot(const SnapshotLimits& limits) {
  if (lookups_) lookups_->hold();
  auto snap = inner_.snapshot(limits);
  RecordedSnapshot fact;
  fact.start = !started_;
  if (!started_) fact.settings = settings_;
  started_ = true;
  if (!snap) {
    fact.error = snap.error().message;
  } else {
    // The processes read for scan are not the collector's: left out.
    fact.snapshot.namespaces = snap->namespaces;
    fact.snapshot.host_mntns = snap->host_mntns;
    fact.snapshot.counters = snap->counters;
    fact.snapshot.warnings = snap->warnings;
    host_mntns_ = snap->host_mntns;
    members_ = members_baseline(*snap);
  }
  write(std::move(fact));
  if (lookups_) lookups_->release();
  return snap;
}

Result<MountNamespace> RecordingNamespaceSource::read(int pid, size_t max_mountinfo_bytes) {
  auto ns = inner_.read(pid, max_mountinfo_bytes);
  RecordedRead fact;
  fact.pid = pid;
  if (ns) {
    fact.ns.inode = ns->inode;
    fact.ns.mounts = ns->mounts;
  } else {
    fact.error_errno = ns.error().errno_value ? ns.error().errno_value : EIO;
    fact.error = ns.error().message;
  }
  write(std::move(fact));
  return ns;
}

std::optional<uint64_t> RecordingNamespaceSource::namespace_of(int pid) {
  auto inode = inner_.namespace_of(pid);
  write(RecordedNamespaceOf{pid, inode});
  return inode;
}

std::map<uint64_t, std::vector<int>> RecordingNamespaceSource::members() {
  auto all = inner_.members();
  std::map<uint64_t, std::vector<int>> now = all;
  now.erase(host_mntns_);
  // Asked every liveness period: only what changed goes in.
  RecordedMembers change = members_change(members_, now);
  if (!change.set.empty() || !change.gone.empty()) {
    members_ = std::move(now);
    write(std::move(change));
  }
  return all;
}

std::optional<DescriptorPin> RecordingNamespaceSource::held_open(uint64_t inode, const DescriptorPin* last) {
  auto pin = inner_.held_open(inode, last);
  write(pin ? RecordedHeldOpen{inode, pin->pid, pin->fd} : RecordedHeldOpen{inode, 0, -1});
  return pin;
}

void RecordingNodeLookups::write(NodeFact fact) {
  Record record{now_ ? now_() : std::chrono::system_clock::now(), std::move(fact)};
  if (holding_)
    held_.push_back(std::move(record));
  else
    out_.write(record);
}

void RecordingNodeLookups::release() {
  holding_ = false;
  for (const Record& record : held_) out_.write(record);
  held_.clear();
}

Attribution RecordingNodeLookups::attribute(const std::vector<int>& pids) {
  Attribution who = inner_.attribute(pids);
  RecordedAttribution fact{who, false, who.pids == pids ? std::vector<int>() : pids};
  // As the log writes it: exact for any bytes, and never throws for them.
  std::string text = json_line(recorded_fact_json(NodeFact{fact}));
  auto it = last_attribution_.find(pids);
  if (it != last_attribution_.end() && it->second == text) {
    Attribution only_pids;
    only_pids.pids = pids;
    write(RecordedAttribution{std::move(only_pids), true, {}});
    return who;
  }
  if (last_attribution_.size() >= 4096) last_attribution_.clear();
  last_attribution_[pids] = std::move(text);
  write(std::move(fact));
  return who;
}

bool RecordingNodeLookups::tracked(DevId dev) {
  const bool answer = inner_.tracked(dev);
  write(RecordedDevice{dev, answer, std::nullopt});
  return answer;
}

DeviceRef RecordingNodeLookups::describe_device(DevId dev) {
  DeviceRef d = inner_.describe_device(dev);
  write(RecordedDevice{dev, std::nullopt, d});
  return d;
}

HostLayout RecordingNodeLookups::host_layout(const std::vector<MountEntry>& host_mounts) {
  HostLayout layout = inner_.host_layout(host_mounts);
  write(RecordedHostLayout{layout.host_root, layout.kubelet});
  return layout;
}

std::optional<BusyDevice> RecordingNodeLookups::busy_device(
    const KernelEvent& e, const std::function<std::optional<BusyDevice>()>& resolve) {
  auto busy = inner_.busy_device(e, resolve);
  RecordedBusyDevice fact;
  fact.pid = e.pid;
  fact.ts_ns = e.ts_ns;
  if (busy) {
    fact.dev = busy->dev;
    fact.from = busy->from;
  }
  write(std::move(fact));
  return busy;
}

std::vector<FdHolder> RecordingNodeLookups::open_holders(DevId dev, const std::vector<DevId>& along,
                                                         const std::map<uint64_t, MountNamespace>& namespaces) {
  auto found = inner_.open_holders(dev, along, namespaces);
  write(RecordedOpenHolders{dev, found});
  return found;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/copy_detector.h"

#include "findings/hostpath_risk.h"

namespace mountleak {

void CopyDetector::judge(uint64_t inode, Clock::time_point now) {
  if (inode == node_.model.host_mntns()) return;
  const MountNamespace* ns = node_.model.find(inode);
  if (!ns) return;
  const Ingest::YoungNamespace* young = ingest_.young(inode, now);
  for (DevId dev : node_.tracked_devices_in(inode)) {
    if (reported_.count({inode, dev})) continue;
    DeviceHolders d = node_.holders_of(dev);
    std::vector<Holder> mine;
    for (auto& h : d.holders)
      if (h.mntns == inode && h.role == HolderRole::kLeak) mine.push_back(std::move(h));
    if (mine.empty()) continue;  // none, or only copies that follow the host
    reported_.insert({inode, dev});

    if (auto bind = bind_behind(*ns, dev)) {
      auto risk = node_.finding<HostpathRisk>(d, mine);
      risk.bind = std::move(*bind);
      risk.mntns = inode;
      risky_.insert(inode);
      if (const Ingest::Trigger* t = ingest_.last_trigger(inode)) risk.process = node_.culprit(t->pid, t->comm);
      node_.emit(std::move(risk));
    }
    if (young) {
      auto copy = node_.finding<MntnsCopy>(d, std::move(mine));
      copy.mntns = inode;
      copy.from_mntns = young->from;
      copy.creator = node_.culprit(young->creator.pid, young->creator.comm);
      node_.emit(std::move(copy));
    }
  }
}

std::optional<BoundDirectory> CopyDetector::bind_behind(const MountNamespace& ns, DevId dev) {
  return bind_behind_copy(ns, node_.model.find(node_.model.host_mntns()), node_.host_layout(), dev,
                          [this](DevId d) { return node_.tracked(d); });
}

void CopyDetector::forget(uint64_t inode) {
  std::erase_if(reported_, [&](const auto& r) { return r.first == inode; });
  risky_.erase(inode);
}

void CopyDetector::forget_missing() {
  // Not while a bound left namespaces out: those live on, and come back.
  if (!node_.degraded.empty()) return;
  std::erase_if(risky_, [&](uint64_t inode) { return !node_.model.find(inode); });
}

size_t CopyDetector::risks_now() const {
  // Between a namespace's death and the sweep that forgets it.
  size_t n = 0;
  for (uint64_t inode : risky_)
    if (node_.model.find(inode)) ++n;
  return n;
}

}  // namespace mountleak

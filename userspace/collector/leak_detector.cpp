// SPDX-License-Identifier: Apache-2.0
#include "collector/leak_detector.h"

namespace mountleak {

void LeakDetector::judge(uint64_t inode, const std::set<DevId>& before) {
  if (inode != node_.model.host_mntns()) return;
  std::set<DevId> after = node_.tracked_devices_in(inode);
  for (auto it = reported_.begin(); it != reported_.end();) {
    if (after.count(it->first.second)) {
      node_.emit(LeakResolved{it->second, "host_mounted_again"});
      it = reported_.erase(it);
    } else {
      ++it;
    }
  }
  for (DevId dev : before) {
    if (after.count(dev)) continue;
    // The host's last mount is gone. Copies that followed it went with it;
    // re-read whoever still holds the device to be sure.
    for (uint64_t other : node_.model.namespaces_holding(dev)) reconciler_.reread(other);
    DeviceHolders d = node_.holders_of(dev);
    std::vector<Holder> remaining;
    for (auto& h : d.holders)
      if (h.role != HolderRole::kHost) remaining.push_back(std::move(h));
    if (remaining.empty() || !reported_.emplace(std::pair{inode, dev}, d.device).second) continue;
    auto leak = node_.finding<Leak>(d, std::move(remaining));
    if (const Ingest::Trigger* t = ingest_.last_trigger(inode)) leak.unmounted_by = node_.culprit(t->pid, t->comm);
    node_.emit(std::move(leak));
  }
}

void LeakDetector::judge_orphaned_copies() {
  // A host unmount seen while the holder's namespace was not in the model
  // (lost events, or a bound reached) was judged without it; the resync
  // finds the copy the host no longer has. Only private copies count: a
  // device the host never mounted may be a pod's own.
  const uint64_t host_mntns = node_.model.host_mntns();
  const std::set<DevId> host_has = node_.tracked_devices_in(host_mntns);
  std::set<DevId> held;
  for (const auto& [inode, ns] : node_.model.namespaces())
    if (inode != host_mntns)
      for (const auto& m : ns.mounts)
        if (!host_has.count(m.dev) && node_.tracked(m.dev)) held.insert(m.dev);
  for (DevId dev : held) {
    if (reported_.count({host_mntns, dev})) continue;
    DeviceHolders d = node_.holders_of(dev);
    std::vector<Holder> leaks;
    for (auto& h : d.holders)
      if (h.role == HolderRole::kLeak) leaks.push_back(std::move(h));
    if (leaks.empty()) continue;
    reported_.emplace(std::pair{host_mntns, dev}, d.device);
    auto leak = node_.finding<Leak>(d, std::move(leaks));
    leak.found_by_resync = true;  // when the host unmounted it is not known
    node_.emit(std::move(leak));
  }
}

void LeakDetector::judge_resolved() {
  // A bound in force may have left the holder's namespace out of the model:
  // a leak is not declared over on a view that may be incomplete.
  if (!node_.degraded.empty()) return;
  for (auto it = reported_.begin(); it != reported_.end();) {
    const auto& [host, dev] = it->first;
    // The host's own mount does not keep a leak alive (judge() resolves a
    // remount), so any namespace but the host's still holding it does.
    bool held = false;
    for (uint64_t inode : node_.model.namespaces_holding(dev))
      if (inode != host) held = true;
    if (held) {
      ++it;
      continue;
    }
    node_.emit(LeakResolved{it->second, "copies_gone"});
    it = reported_.erase(it);
  }
}

}  // namespace mountleak

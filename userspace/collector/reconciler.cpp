// SPDX-License-Identifier: Apache-2.0
#include "collector/reconciler.h"

#include <algorithm>
#include <cerrno>
#include <deque>

namespace mountleak {

bool Reconciler::reconcile_due(Clock::time_point now, Clock::time_point until, bool all, const Judge& judge) {
  bool first = true;  // at least one per call, however short the slice
  for (uint64_t inode : dirty_.due(now, node_.options, all)) {
    if (!first && node_.now() >= until) return false;
    if (dirty_.contains(inode)) judge(reconcile(inode, now, until));
    first = false;
  }
  return true;
}

std::vector<Reconciler::Reread> Reconciler::reconcile(uint64_t inode, Clock::time_point now,
                                                      Clock::time_point until) {
  std::vector<Reread> done;
  std::deque<uint64_t> queue{inode};
  std::set<uint64_t> visited{inode};
  while (!queue.empty()) {
    uint64_t current = queue.front();
    queue.pop_front();
    if (current != inode && node_.now() >= until) {
      // Out of time: the rest of the propagation is re-read at a later tick.
      dirty_.mark(current, now);
      continue;
    }
    Reread r{current, node_.tracked_devices_in(current)};
    LiveModel::Change change;
    if (!reread(current, change)) {
      ++node_.stats.reconcile_failures;
      continue;
    }
    if (node_.options.reconcile_propagation)
      for (uint64_t other : node_.model.namespaces_in_groups(groups_touched(current, change), current))
        if (visited.insert(other).second) queue.push_back(other);
    done.push_back(std::move(r));
  }
  return done;
}

std::set<uint32_t> Reconciler::groups_touched(uint64_t inode, const LiveModel::Change& change) const {
  // The peer groups of the mounts attached (or detached), and of the
  // mounts they were attached to.
  std::set<uint32_t> groups;
  const MountNamespace* ns = node_.model.find(inode);
  auto note = [&](const MountEntry& m) {
    if (m.shared_group) groups.insert(m.shared_group);
    if (!ns) return;
    for (const auto& parent : ns->mounts)
      if (parent.mount_id == m.parent_id && parent.shared_group) groups.insert(parent.shared_group);
  };
  for (const auto& m : change.added) note(m);
  for (const auto& m : change.removed) note(m);
  return groups;
}

bool Reconciler::reread(uint64_t inode, LiveModel::Change& change) {
  LiveModel& model = node_.model;
  dirty_.erase(inode);
  const MountNamespace* ns = model.find(inode);
  if (!ns) return false;
  std::vector<int> pids = ns->pids;
  for (int pid : pids) {
    auto fresh = node_.source.read(pid, node_.options.max_mountinfo_bytes);
    if (!fresh && fresh.error().errno_value == EFBIG) {
      bounds_.mountinfo_too_large();  // every member sees the same table: the one read before stays
      return false;
    }
    if (fresh && fresh->inode == inode) {
      change = bounds_.replace_within_bounds(inode, std::move(fresh->mounts));
      if (inode == model.host_mntns()) node_.host_table_changed();
      ++node_.stats.reconciles;
      return true;
    }
    model.drop_pid(inode, pid);  // gone, or moved to another namespace
  }
  if (ns->pinned_only) return false;
  // Every process we knew of has left: look for any other, or a descriptor
  // keeping it, before declaring the namespace gone.
  for (int pid : members_of(inode)) {
    auto fresh = node_.source.read(pid, node_.options.max_mountinfo_bytes);
    if (!fresh || fresh->inode != inode) continue;
    model.add_pid(inode, pid);
    change = bounds_.replace_within_bounds(inode, std::move(fresh->mounts));
    ++node_.stats.reconciles;
    return true;
  }
  if (!kept_open(inode)) namespace_gone(inode);
  return false;
}

bool Reconciler::kept_open(uint64_t inode) {
  LiveModel& model = node_.model;
  const MountNamespace* ns = model.find(inode);
  if (!ns || inode == model.host_mntns() || (ns->pinned_only && ns->held_open_by <= 0)) return false;
  // Only a namespace that still holds a tracked device matters, and the
  // search reads every process's descriptors: a container's exit costs
  // nothing more unless it held one.
  if (node_.tracked_devices_in(inode).empty()) return false;
  const DescriptorPin last{inode, ns->held_open_by, ns->held_open_fd};
  auto pin = node_.source.held_open(inode, ns->held_open_by > 0 ? &last : nullptr);
  if (!pin) return false;
  model.held_open(inode, pin->pid, pin->fd);
  return true;
}

const std::vector<int>& Reconciler::members_of(uint64_t inode) {
  static const std::vector<int> kNone;
  if (!members_) members_ = node_.source.members();
  auto it = members_->find(inode);
  return it == members_->end() ? kNone : it->second;
}

void Reconciler::namespace_gone(uint64_t inode) {
  forget_namespace_(inode);
  ++node_.stats.namespaces_gone;
}

void Reconciler::sweep_dead_namespaces() {
  LiveModel& model = node_.model;
  std::vector<uint64_t> unpeopled;  // no process in them (or only a descriptor before)
  for (const auto& [inode, ns] : model.namespaces()) {
    if (inode == model.host_mntns() || dirty_.contains(inode)) continue;
    if (ns.pinned_only) {
      if (ns.held_open_by > 0) unpeopled.push_back(inode);
      continue;
    }
    const std::vector<int>& members = members_of(inode);
    if (members.empty())
      unpeopled.push_back(inode);
    else
      model.set_pids(inode, members);
  }
  for (uint64_t inode : unpeopled)
    if (!kept_open(inode)) namespace_gone(inode);
}

void Reconciler::discover_namespaces(Clock::time_point now) {
  if (!members_) members_ = node_.source.members();
  LiveModel& model = node_.model;
  for (const auto& [inode, pids] : *members_) {
    if (pids.empty() || model.has(inode)) continue;
    if (!bounds_.admit_namespace(inode, pids.front(), 0)) return;  // full: said by the bound
    model.set_pids(inode, pids);
    dirty_.mark(inode, now);
    ++node_.stats.namespaces_found_by_sweep;
  }
}

void Reconciler::drop_dead_holders(DevId dev) {
  LiveModel& model = node_.model;
  for (uint64_t inode : model.namespaces_holding(dev)) {
    const MountNamespace* ns = model.find(inode);
    if (!ns || inode == model.host_mntns()) continue;
    if (ns->pinned_only) {
      if (ns->held_open_by > 0 && !kept_open(inode)) namespace_gone(inode);
      continue;
    }
    bool alive = std::any_of(ns->pids.begin(), ns->pids.end(),
                             [&](int pid) { return node_.source.namespace_of(pid) == inode; });
    if (alive) continue;
    if (const std::vector<int>& members = members_of(inode); !members.empty()) {
      model.set_pids(inode, members);
      continue;
    }
    if (!kept_open(inode)) namespace_gone(inode);
  }
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/live_model.h"

#include <algorithm>
#include <iterator>
#include <tuple>

namespace mountleak {

namespace {

// Fills change with the mounts of `after` whose key `before` lacks, and
// the other way round.
template <class Key>
void diff_by(const std::vector<MountEntry>& before, const std::vector<MountEntry>& after,
             LiveModel::Change& change, Key key) {
  std::set<decltype(key(before.front()))> had, has;
  for (const auto& m : before) had.insert(key(m));
  for (const auto& m : after) has.insert(key(m));
  for (const auto& m : after)
    if (!had.count(key(m))) change.added.push_back(m);
  for (const auto& m : before)
    if (!has.count(key(m))) change.removed.push_back(m);
}

// `into` and `more` (both ascending, unique) together, ascending, unique.
template <class T>
void merge_into(std::vector<T>& into, const std::vector<T>& more) {
  std::vector<T> merged;
  std::set_union(into.begin(), into.end(), more.begin(), more.end(), std::back_inserter(merged));
  into = std::move(merged);
}

std::set<DevId> devices_of(const std::vector<MountEntry>& mounts) {
  std::set<DevId> out;
  for (const auto& m : mounts) out.insert(m.dev);
  return out;
}

}  // namespace

void LiveModel::reset(NodeSnapshot snapshot) {
  namespaces_ = std::move(snapshot.namespaces);
  host_mntns_ = snapshot.host_mntns;
  for (const auto& [dev, count] : mounted_) released_.push_back(dev);  // held again below, or not
  holding_.clear();
  mounted_.clear();
  inherited_.clear();
  mount_count_ = 0;
  trimmed_count_ = 0;
  for (auto& [inode, ns] : namespaces_) {
    // A snapshot narrowed as it was read (SnapshotLimits::only_mounts_for)
    // has its groups and devices already; narrowing again changes nothing.
    merge_into(ns.groups, propagation_groups(ns.mounts));
    merge_into(ns.devices, mounted_devices(ns.mounts));
    if (narrow_ && inode != host_mntns_) ns.mounts = mounts_a_finding_needs(std::move(ns.mounts), narrow_);
    index(inode, ns);
    account(ns, 1);
  }
}

LiveModel::Table LiveModel::table_of(uint64_t inode, std::vector<MountEntry> mounts) const {
  Table table;
  table.groups = propagation_groups(mounts);
  table.devices = mounted_devices(mounts);
  table.mounts = narrow_ && inode != host_mntns_ ? mounts_a_finding_needs(std::move(mounts), narrow_)
                                                  : std::move(mounts);
  return table;
}

void LiveModel::account(const MountNamespace& ns, int sign) {
  if (sign > 0) {
    mount_count_ += ns.mounts.size();
    trimmed_count_ += ns.trimmed;
  } else {
    mount_count_ -= ns.mounts.size();
    trimmed_count_ -= ns.trimmed;
  }
}

void LiveModel::index(uint64_t inode, const MountNamespace& ns) {
  for (DevId dev : devices_of(ns.mounts)) holding_[dev].insert(inode);
  for (DevId dev : ns.devices) ++mounted_[dev];
}

void LiveModel::unindex(uint64_t inode, const MountNamespace& ns) {
  for (DevId dev : devices_of(ns.mounts)) {
    auto it = holding_.find(dev);
    if (it == holding_.end()) continue;
    it->second.erase(inode);
    if (it->second.empty()) holding_.erase(it);
  }
  for (DevId dev : ns.devices) {
    auto it = mounted_.find(dev);
    if (it == mounted_.end()) continue;
    if (--it->second == 0) {
      mounted_.erase(it);
      released_.push_back(dev);
    }
  }
}

std::vector<DevId> LiveModel::take_released() {
  std::vector<DevId> out;
  out.swap(released_);
  return out;
}

const MountNamespace* LiveModel::find(uint64_t inode) const {
  auto it = namespaces_.find(inode);
  return it == namespaces_.end() ? nullptr : &it->second;
}

void LiveModel::add_namespace(uint64_t inode, int pid, uint64_t copied_from, const KeepMount* keep) {
  auto [it, fresh] = namespaces_.try_emplace(inode);
  MountNamespace& ns = it->second;
  if (fresh) {
    ns.inode = inode;
    if (auto from = namespaces_.find(copied_from); from != namespaces_.end()) {
      const MountNamespace& parent = from->second;
      ns.trimmed = keep || parent.trimmed;
      ns.mounts = keep ? mounts_kept(parent.mounts, *keep) : table_of(inode, parent.mounts).mounts;
      ns.groups = parent.groups;
      ns.devices = parent.devices;
      index(inode, ns);
      inherited_.insert(inode);
      account(ns, 1);
    }
  }
  add_pid(inode, pid);
}

void LiveModel::add_pid(uint64_t inode, int pid) {
  auto it = namespaces_.find(inode);
  if (it == namespaces_.end() || pid <= 0) return;
  if (it->second.held_open_by > 0) {  // entered again through the descriptor (setns)
    it->second.pinned_only = false;
    it->second.held_open_by = 0;
    it->second.held_open_fd = -1;
  }
  auto& pids = it->second.pids;
  auto pos = std::lower_bound(pids.begin(), pids.end(), pid);
  if (pos == pids.end() || *pos != pid) pids.insert(pos, pid);
}

void LiveModel::set_pids(uint64_t inode, std::vector<int> pids) {
  if (auto it = namespaces_.find(inode); it != namespaces_.end()) it->second.pids = std::move(pids);
}

void LiveModel::held_open(uint64_t inode, int pid, int fd) {
  auto it = namespaces_.find(inode);
  if (it == namespaces_.end()) return;
  MountNamespace& ns = it->second;
  ns.pids.clear();
  ns.pinned_only = true;
  ns.held_open_by = pid;
  ns.held_open_fd = fd;
}

void LiveModel::drop_pid(uint64_t inode, int pid) {
  auto it = namespaces_.find(inode);
  if (it == namespaces_.end()) return;
  std::erase(it->second.pids, pid);
}

LiveModel::Change LiveModel::replace_mounts(uint64_t inode, Table table, bool trimmed) {
  std::vector<MountEntry>& mounts = table.mounts;
  Change change;
  MountNamespace& ns = namespaces_[inode];
  ns.inode = inode;
  account(ns, -1);
  if (inherited_.erase(inode)) {
    diff_by(ns.mounts, mounts, change, [](const MountEntry& m) {
      return std::tuple(m.mount_point, m.root, m.dev);
    });
  } else {
    diff_by(ns.mounts, mounts, change, [](const MountEntry& m) { return m.mount_id; });
  }
  unindex(inode, ns);
  ns.mounts = std::move(mounts);
  ns.groups = std::move(table.groups);
  ns.devices = std::move(table.devices);
  index(inode, ns);
  ns.trimmed = trimmed;
  account(ns, 1);
  return change;
}

void LiveModel::remove(uint64_t inode) {
  auto it = namespaces_.find(inode);
  if (it == namespaces_.end()) return;
  unindex(inode, it->second);
  account(it->second, -1);
  inherited_.erase(inode);
  namespaces_.erase(it);
}

std::vector<uint64_t> LiveModel::namespaces_in_groups(const std::set<uint32_t>& groups,
                                                      uint64_t except) const {
  std::vector<uint64_t> out;
  if (groups.empty()) return out;
  for (const auto& [inode, ns] : namespaces_) {
    if (inode == except) continue;
    // Both sorted: one merge walk.
    auto mine = ns.groups.begin();
    for (auto wanted = groups.begin(); wanted != groups.end() && mine != ns.groups.end();) {
      if (*mine < *wanted) {
        ++mine;
      } else if (*wanted < *mine) {
        ++wanted;
      } else {
        out.push_back(inode);
        break;
      }
    }
  }
  return out;
}

std::vector<DevId> LiveModel::held_devices() const {
  std::vector<DevId> out;
  out.reserve(holding_.size());
  for (const auto& [dev, holders] : holding_) out.push_back(dev);
  return out;
}

std::vector<uint64_t> LiveModel::namespaces_holding(DevId dev) const {
  auto it = holding_.find(dev);
  if (it == holding_.end()) return {};
  return {it->second.begin(), it->second.end()};
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/live_model.h"

#include <algorithm>
#include <unordered_map>

namespace mountleak {

void LiveModel::reset(NodeSnapshot snapshot) {
  namespaces_ = std::move(snapshot.namespaces);
  host_mntns_ = snapshot.host_mntns;
}

const MountNamespace* LiveModel::find(uint64_t inode) const {
  auto it = namespaces_.find(inode);
  return it == namespaces_.end() ? nullptr : &it->second;
}

void LiveModel::add_namespace(uint64_t inode, int pid, uint64_t copied_from) {
  auto [it, fresh] = namespaces_.try_emplace(inode);
  MountNamespace& ns = it->second;
  if (fresh) {
    ns.inode = inode;
    if (auto from = namespaces_.find(copied_from); from != namespaces_.end())
      ns.mounts = from->second.mounts;
  }
  add_pid(inode, pid);
}

void LiveModel::add_pid(uint64_t inode, int pid) {
  auto it = namespaces_.find(inode);
  if (it == namespaces_.end() || pid <= 0) return;
  auto& pids = it->second.pids;
  auto pos = std::lower_bound(pids.begin(), pids.end(), pid);
  if (pos == pids.end() || *pos != pid) pids.insert(pos, pid);
}

void LiveModel::drop_pid(uint64_t inode, int pid) {
  auto it = namespaces_.find(inode);
  if (it == namespaces_.end()) return;
  std::erase(it->second.pids, pid);
}

LiveModel::Change LiveModel::replace_mounts(uint64_t inode, std::vector<MountEntry> mounts) {
  Change change;
  MountNamespace& ns = namespaces_[inode];
  ns.inode = inode;
  std::unordered_map<uint64_t, const MountEntry*> before;
  for (const auto& m : ns.mounts) before.emplace(m.mount_id, &m);
  std::unordered_map<uint64_t, const MountEntry*> after;
  for (const auto& m : mounts) after.emplace(m.mount_id, &m);
  for (const auto& m : mounts)
    if (!before.count(m.mount_id)) change.added.push_back(m);
  for (const auto& m : ns.mounts)
    if (!after.count(m.mount_id)) change.removed.push_back(m);
  ns.mounts = std::move(mounts);
  return change;
}

void LiveModel::remove(uint64_t inode) { namespaces_.erase(inode); }

std::vector<uint64_t> LiveModel::namespaces_in_groups(const std::set<uint32_t>& groups,
                                                      uint64_t except) const {
  std::vector<uint64_t> out;
  if (groups.empty()) return out;
  for (const auto& [inode, ns] : namespaces_) {
    if (inode == except) continue;
    for (const auto& m : ns.mounts)
      if ((m.shared_group && groups.count(m.shared_group)) ||
          (m.master_group && groups.count(m.master_group))) {
        out.push_back(inode);
        break;
      }
  }
  return out;
}

std::vector<uint64_t> LiveModel::namespaces_holding(DevId dev) const {
  std::vector<uint64_t> out;
  for (const auto& [inode, ns] : namespaces_)
    for (const auto& m : ns.mounts)
      if (m.dev == dev) {
        out.push_back(inode);
        break;
      }
  return out;
}

}  // namespace mountleak

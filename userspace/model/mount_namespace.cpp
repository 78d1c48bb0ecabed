// SPDX-License-Identifier: Apache-2.0
#include "model/mount_namespace.h"

#include <algorithm>
#include <unordered_map>

namespace mountleak {

std::vector<uint32_t> propagation_groups(const std::vector<MountEntry>& mounts) {
  std::vector<uint32_t> out;
  for (const auto& m : mounts) {
    if (m.shared_group) out.push_back(m.shared_group);
    if (m.master_group) out.push_back(m.master_group);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<DevId> mounted_devices(const std::vector<MountEntry>& mounts) {
  std::vector<DevId> out;
  out.reserve(mounts.size());
  for (const auto& m : mounts) out.push_back(m.dev);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::vector<MountEntry> mounts_kept(const std::vector<MountEntry>& mounts,
                                    const std::function<bool(const MountEntry&)>& keep) {
  std::vector<MountEntry> out;
  for (const auto& m : mounts)
    if (m.fs_type == "nsfs" || keep(m)) out.push_back(m);
  return out;
}

std::vector<MountEntry> mounts_a_finding_needs(std::vector<MountEntry> mounts,
                                               const std::function<bool(const MountEntry&)>& keep) {
  std::unordered_map<uint64_t, size_t> by_id;
  by_id.reserve(mounts.size());
  for (size_t i = 0; i < mounts.size(); ++i) by_id.emplace(mounts[i].mount_id, i);
  std::vector<bool> needed(mounts.size(), false);
  for (size_t i = 0; i < mounts.size(); ++i) {
    if (!keep(mounts[i])) continue;
    // The mount and its ancestors; a walk stops at one an earlier walk
    // kept (its ancestors are kept too), and a cycle in a hostile table
    // cannot last longer than the table.
    size_t at = i;
    for (size_t steps = 0; steps <= mounts.size() && !needed[at]; ++steps) {
      needed[at] = true;
      auto parent = by_id.find(mounts[at].parent_id);
      if (parent == by_id.end()) break;
      at = parent->second;
    }
  }
  for (size_t i = 0; i < mounts.size(); ++i)
    if (mounts[i].mount_point == "/" || mounts[i].fs_type == "nsfs") needed[i] = true;
  size_t kept = 0;
  for (bool n : needed) kept += n;
  std::vector<MountEntry> out;
  out.reserve(kept);
  for (size_t i = 0; i < mounts.size(); ++i)
    if (needed[i]) out.push_back(std::move(mounts[i]));
  return out;
}

}  // namespace mountleak

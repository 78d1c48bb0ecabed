// SPDX-License-Identifier: Apache-2.0
#include "model/mount_namespace.h"

namespace mountleak {

std::vector<MountEntry> mounts_kept(const std::vector<MountEntry>& mounts,
                                    const std::function<bool(const MountEntry&)>& keep) {
  std::vector<MountEntry> out;
  for (const auto& m : mounts)
    if (m.fs_type == "nsfs" || keep(m)) out.push_back(m);
  return out;
}

}  // namespace mountleak

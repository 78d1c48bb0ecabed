// SPDX-License-Identifier: Apache-2.0
#include "collector/node_lookups.h"

#include "resolve/devices.h"
#include "sources/fd_holders.h"

namespace mountleak {

bool LiveNodeLookups::tracked(DevId dev) {
  const std::string name = kernel_name_of(paths_, dev);
  return !name.empty() && paths_.tracks_device(name);
}

DeviceRef LiveNodeLookups::describe_device(DevId dev) { return mountleak::describe_device(paths_, dev); }

std::vector<FdHolder> LiveNodeLookups::open_holders(DevId dev,
                                                    const std::map<uint64_t, MountNamespace>& namespaces) {
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(open_holders_, [&](const auto& walk) { return now - walk.second.at >= kOpenHoldersReuse; });
  if (auto it = open_holders_.find(dev); it != open_holders_.end()) return it->second.found;
  ScanCounters ignored;
  auto found = find_fd_holders(paths_, dev, {}, ignored, index_remote_mounts(namespaces));
  open_holders_[dev] = OpenHoldersWalk{now, found};
  return found;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/node_lookups.h"

#include <algorithm>

#include "resolve/devices.h"
#include "sources/fd_holders.h"

namespace mountleak {

bool LiveNodeLookups::tracked(DevId dev) {
  const std::string name = kernel_name_of(paths_, dev);
  return !name.empty() && paths_.tracks_device(name);
}

DeviceRef LiveNodeLookups::describe_device(DevId dev) { return mountleak::describe_device(paths_, dev); }

std::vector<FdHolder> LiveNodeLookups::open_holders(DevId dev, const std::vector<DevId>& along,
                                                    const std::map<uint64_t, MountNamespace>& namespaces) {
  const auto start = std::chrono::steady_clock::now();
  const bool reusable = last_walk_ && start < last_walk_->until &&
                        std::binary_search(last_walk_->devs.begin(), last_walk_->devs.end(), dev);
  if (!reusable) {
    std::vector<DevId> devs = along;
    devs.push_back(dev);
    std::sort(devs.begin(), devs.end());
    devs.erase(std::unique(devs.begin(), devs.end()), devs.end());
    ScanCounters ignored;
    auto found = find_fd_holders(paths_, devs, {}, ignored, index_remote_mounts(namespaces));
    const auto end = std::chrono::steady_clock::now();
    last_walk_ = OpenHoldersWalk{end + std::max<std::chrono::steady_clock::duration>(
                                           kWalkReuse, (end - start) * kWalkCostFactor),
                                 std::move(devs), std::move(found)};
  }
  std::vector<FdHolder> out;
  for (const auto& h : last_walk_->found)
    if (h.dev == dev) out.push_back(h);
  return out;
}

}  // namespace mountleak

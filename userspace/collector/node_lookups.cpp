// SPDX-License-Identifier: Apache-2.0
#include "collector/node_lookups.h"

#include "resolve/devices.h"

namespace mountleak {

bool LiveNodeLookups::tracked(DevId dev) {
  const std::string name = kernel_name_of(paths_, dev);
  return !name.empty() && paths_.tracks_device(name);
}

DeviceRef LiveNodeLookups::describe_device(DevId dev) { return mountleak::describe_device(paths_, dev); }

}  // namespace mountleak

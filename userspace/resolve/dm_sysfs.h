// SPDX-License-Identifier: Apache-2.0
#pragma once

// Device-mapper devices as sysfs shows them: /sys/block/dm-N/dm/{name,uuid}
// and /sys/block/dm-N/slaves/, the devices a dm table sits on. Every read
// is bounded: a name is at most 128 bytes (DM_NAME_LEN), a uuid 129, a node
// may have thousands of dm devices and a table hundreds of slaves.

#include <optional>
#include <string>

#include "config/host_paths.h"
#include "model/dev_id.h"
#include "model/device.h"

namespace mountleak {

// What sysfs says about dm device `kernel_name` ("dm-0"); nothing for a
// device that is not a dm device (or has gone).
std::optional<DmInfo> dm_info_for(const HostPaths& paths, const std::string& kernel_name);

// The dm device a `dmsetup remove` named: by uuid when one is given, else by
// name (as the kernel looks it up). Both are compared as they are, byte for
// byte, and never become a path. Nothing when no dm device answers to it,
// or none of the first kMaxDmDevices does.
std::optional<DevId> dm_device_named(const HostPaths& paths, const std::string& name, const std::string& uuid);
inline constexpr size_t kMaxDmDevices = 4096;

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Block devices as the user names them (/dev/rbd4, rbd4, 252:0, POOL/IMAGE)
// and as the node has them (every tracked device in /sys/class/block).
// Devices are matched by MAJ:MIN, never by name: names differ between
// namespaces, and a bind mount shows a root other than "/".

#include <optional>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "model/dev_id.h"
#include "model/device.h"
#include "util/result.h"

namespace mountleak {

// "/dev/rbd4", "rbd4" or "252:0". A device that does not exist is an error
// that says so.
Result<DeviceRef> resolve_device(const HostPaths& paths, const std::string& arg);

// "POOL/IMAGE" (or "POOL/NAMESPACE/IMAGE") through /sys/bus/rbd/devices.
Result<std::vector<DeviceRef>> resolve_image(const HostPaths& paths, const std::string& arg);

// Fills kernel_name, path and rbd for a bare MAJ:MIN from sysfs.
DeviceRef describe_device(const HostPaths& paths, DevId dev);

// "rbd4" for 252:0 (the name /sys/dev/block gives); "" when there is none.
std::string kernel_name_of(const HostPaths& paths, DevId dev);

// Every block device in /sys/class/block whose kernel name the --devices
// globs accept.
std::vector<DeviceRef> tracked_devices(const HostPaths& paths);

}  // namespace mountleak

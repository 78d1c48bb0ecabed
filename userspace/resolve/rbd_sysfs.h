// SPDX-License-Identifier: Apache-2.0
#pragma once

// Ceph RBD mappings as the kernel's rbd driver shows them in sysfs
// (/sys/bus/rbd/devices/<id>/): which pool and image a /dev/rbdN is, and the
// reverse, for `--image POOL/IMAGE`. No librbd and no cluster access needed.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/host_paths.h"
#include "model/device.h"
#include "util/result.h"

namespace mountleak {

// rbd_info_for(paths, "rbd4") (a partition "rbd4p1" gives its disk's info).
// Nothing when the name is not an rbd device or it is not mapped (any more).
std::optional<RbdInfo> rbd_info_for(const HostPaths& paths, const std::string& kernel_name);

// "pool/image", "pool/namespace/image", either with "@snap".
struct RbdImageSpec {
  std::string pool, rados_namespace, image;
  std::optional<std::string> snap;  // nothing: any mapping, of the image or of its snapshots
};
std::optional<RbdImageSpec> parse_rbd_image_spec(std::string_view text);

// "/dev/rbdN" of every mapping of the image, by id, as the host names it
// (without the --host-root prefix: findings show it, and resolve_device()
// adds the prefix to look at it). An
// image in the default rados namespace; snapshot mappings included. No rbd
// driver loaded is no mapping, not an error.
Result<std::vector<std::string>> rbd_devices_for_image(const HostPaths& paths, std::string_view pool,
                                                       std::string_view image);
Result<std::vector<std::string>> rbd_devices_for_image(const HostPaths& paths, const RbdImageSpec& spec);

}  // namespace mountleak

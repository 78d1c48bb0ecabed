// SPDX-License-Identifier: Apache-2.0
#pragma once

// Mount table rows for unit tests that build a namespace by hand.

#include <cstdint>
#include <string>

#include "model/mountinfo.h"

namespace mountleak::testing {

inline MountEntry mount_entry(uint64_t id, uint64_t parent, DevId dev, std::string root, std::string point,
                              uint32_t shared = 0, uint32_t master = 0) {
  MountEntry m;
  m.mount_id = id;
  m.parent_id = parent;
  m.dev = dev;
  m.root = std::move(root);
  m.mount_point = std::move(point);
  m.shared_group = shared;
  m.master_group = master;
  m.fs_type = "ext4";
  return m;
}

}  // namespace mountleak::testing

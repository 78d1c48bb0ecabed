// SPDX-License-Identifier: Apache-2.0
#pragma once

// Mount namespaces that no process is in and no nsfs bind mount pins, kept
// alive only by an open descriptor: a process that opened /proc/X/ns/mnt
// (or got such a descriptor over a unix socket) and kept it after X left.
// Neither a walk of /proc/*/ns/mnt nor of nsfs mounts finds them.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>


namespace mountleak {

struct DescriptorPin {
  uint64_t mntns = 0;
  int pid = 0;  // the process holding it
  int fd = -1;
};

// One pass over every process's descriptors: the first descriptor found for
// each mount namespace `known` does not accept. Only the descriptor's link
// is read ("mnt:[4026532xyz]"), which the kernel answers without any file
// system.
std::vector<DescriptorPin> find_descriptor_pins(const std::string& proc,
                                                const std::function<bool(uint64_t)>& known);

// The first descriptor found that keeps namespace `mntns` open, if any.
std::optional<DescriptorPin> find_descriptor_pin(const std::string& proc, uint64_t mntns);

// Whether the descriptor still is that namespace: the process may have
// closed it, exited, or put another file under the same number.
bool descriptor_still_pins(const std::string& proc, const DescriptorPin& pin);

}  // namespace mountleak

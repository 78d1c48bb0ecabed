// SPDX-License-Identifier: Apache-2.0
#pragma once

// Files a process has mapped into memory (/proc/PID/maps): a mapped file
// keeps its file system, and so its device, busy as an open descriptor
// does, with no descriptor left to see. The kernel prints each mapping's
// device and inode itself, so no file system is asked.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "model/dev_id.h"

namespace mountleak {

struct MappedFile {
  DevId dev;
  uint64_t inode = 0;
  std::string path;  // as the kernel printed it; may end in " (deleted)"
};

// One line of /proc/PID/maps; nothing for an anonymous mapping (inode 0)
// or a line that is not in the kernel's format.
std::optional<MappedFile> parse_maps_line(std::string_view line);

// Calls `found` once per distinct file (device and inode) mapped by the
// process whose /proc directory is open as pid_dir. Reads at most
// kMaxMapsBytes: a process can have a mapping per page, and a map past the
// limit is not worth stalling the collector for. False when the process
// is gone or its maps cannot be read.
inline constexpr size_t kMaxMapsBytes = 4u << 20;
bool for_each_mapped_file(int pid_dir, const std::function<void(const MappedFile&)>& found);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// A process of the node as findings know it: identity, command line,
// cgroup and mount namespace.

#include <cstdint>
#include <string>
#include <vector>

namespace mountleak {

struct ProcessInfo {
  int pid = 0;
  int ppid = 0;
  std::string comm;
  std::vector<std::string> cmdline;
  std::string cgroup;
  uint64_t mntns = 0;  // filled by the caller that knows it
  bool kernel_thread = false;
  // Clock ticks after boot (/proc/PID/stat): with the pid, a process's
  // identity (pids are reused).
  uint64_t start_time = 0;
};

}  // namespace mountleak

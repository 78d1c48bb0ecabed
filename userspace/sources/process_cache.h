// SPDX-License-Identifier: Apache-2.0
#pragma once

// Processes read from /proc on first use and kept for as long as each pid's
// process is the same one (its start time): attribution asks about a
// namespace's members and their ancestors many times over.

#include <cstdint>
#include <map>
#include <string>

#include "model/process.h"
#include "util/result.h"

namespace mountleak {

class ProcessCache {
 public:
  explicit ProcessCache(std::string proc) : proc_(std::move(proc)) {}

  // Lazily read, and cached for as long as the pid's process is the same
  // (its start time); nothing for a process that is gone.
  const ProcessInfo* process(int pid);

  // The mount namespace of a process, read now (not cached).
  Result<uint64_t> mntns(int pid) const;

  // Forget every process (their pids may be reused).
  void clear() { processes_.clear(); }

 private:
  std::string proc_;
  std::map<int, ProcessInfo> processes_;
};

}  // namespace mountleak

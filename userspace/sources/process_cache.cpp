// SPDX-License-Identifier: Apache-2.0
#include "sources/process_cache.h"

#include "sources/procfs.h"

namespace mountleak {

const ProcessInfo* ProcessCache::process(int pid) {
  auto it = processes_.find(pid);
  // A pid is reused as soon as its process is reaped: what was read about
  // it counts only while the process that has it started when that one did.
  // Entries are overwritten in place, never erased here: a caller may hold
  // a pointer to one while it asks about an ancestor.
  if (it != processes_.end()) {
    auto now = read_proc_stat(proc_, pid);
    if (now && now->start_time == it->second.start_time) return &it->second;
  }
  auto info = read_process_info(proc_, pid);
  if (!info) return nullptr;  // gone: its pid may come back, so nothing new is kept
  if (it != processes_.end()) {
    it->second = std::move(*info);
    return &it->second;
  }
  return &processes_.emplace(pid, std::move(*info)).first->second;
}

Result<uint64_t> ProcessCache::mntns(int pid) const { return ns_inode(proc_, pid, "mnt"); }

}  // namespace mountleak

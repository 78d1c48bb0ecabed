// SPDX-License-Identifier: Apache-2.0
#include "sources/task_namespaces.h"

#include <sys/stat.h>

#include <algorithm>

#include "sources/procfs.h"

namespace mountleak {

namespace {

bool has_other_threads(const std::string& task_dir) {
  struct stat st {};
  return ::stat(task_dir.c_str(), &st) == 0 && st.st_nlink > 3;
}

}  // namespace

std::vector<std::pair<int, uint64_t>> threads_in_other_namespaces(const std::string& proc, int pid,
                                                                  uint64_t process_ns) {
  std::vector<std::pair<int, uint64_t>> out;
  const std::string task_dir = proc + "/" + std::to_string(pid) + "/task";
  if (!has_other_threads(task_dir)) return out;
  for (const int tid : list_pids(task_dir)) {
    if (tid == pid) continue;
    // Read through the process's task directory, not /proc/TID: a tid
    // reused by another process since the listing is not taken for a thread.
    auto ino = ns_inode_of_path(task_dir + "/" + std::to_string(tid) + "/ns/mnt");
    if (ino && *ino != process_ns) out.emplace_back(tid, *ino);
  }
  return out;
}

std::map<uint64_t, std::vector<int>> task_members(const std::string& proc) {
  std::map<uint64_t, std::vector<int>> out;
  for (const int pid : list_pids(proc)) {
    auto ino = ns_inode(proc, pid, "mnt");
    if (!ino) continue;
    out[*ino].push_back(pid);
    for (const auto& [tid, thread_ns] : threads_in_other_namespaces(proc, pid, *ino)) out[thread_ns].push_back(tid);
  }
  for (auto& [ino, tasks] : out) std::sort(tasks.begin(), tasks.end());
  return out;
}

}  // namespace mountleak

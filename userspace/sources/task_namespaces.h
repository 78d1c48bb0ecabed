// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which mount namespace each task is in, threads included. /proc/PID/ns/mnt
// is the thread-group leader's namespace; a thread that called
// unshare(CLONE_NEWNS) alone is in another one, seen only in
// /proc/PID/task/TID/ns/mnt. Such a namespace has no process of its own, so
// a walk of /proc/PID alone never finds it (nor the mounts it keeps).
//
// A thread id names its task in /proc too (/proc/TID/mountinfo is that
// thread's table), so a thread is a namespace member like a process.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace mountleak {

// The threads of process `pid`, other than the leader, whose mount namespace
// is not `process_ns`, each with its namespace. procfs gives a task
// directory 2 + (number of threads) links, so a single-threaded process costs
// one stat and no directory listing.
std::vector<std::pair<int, uint64_t>> threads_in_other_namespaces(const std::string& proc, int pid,
                                                                  uint64_t process_ns);

// Every process's namespace, and every thread's that differs from its
// process's: namespace inode -> member task ids, ascending.
std::map<uint64_t, std::vector<int>> task_members(const std::string& proc);

}  // namespace mountleak

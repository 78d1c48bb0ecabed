// SPDX-License-Identifier: Apache-2.0
#pragma once

// A path a process passed to a system call, looked up the way the kernel
// looked it up for that process, but never as mountleak: inside the
// process's own root, with a deadline.

#include <chrono>
#include <cstdint>
#include <string>

#include "model/dev_id.h"
#include "sources/deadline_child.h"
#include "util/result.h"

namespace mountleak {

struct PathFacts {
  DevId dev;          // the file system the file is on
  DevId rdev;         // for a device node, the device it names
  uint32_t mode = 0;  // st_mode
};

// What `path` names for process `pid`. An absolute path is resolved inside
// /proc/PID/root, a relative one beneath the process's cwd (or beneath
// `dirfd`, one of its descriptors, when that is not AT_FDCWD): symlinks and
// ".." never leave that root (a relative path that climbs above its start is
// refused), /proc magic links are refused, and the file is opened O_PATH, so
// a FIFO or device is never opened for I/O. statx asks with
// AT_STATX_DONT_SYNC. All of it runs in a child with a deadline, so a file
// system that never answers holds nothing but that child. Kernels without
// openat2 (before 5.6) get an error, never a looser lookup.
Result<PathFacts> stat_in_process_root(const std::string& proc, int pid, int dirfd, const std::string& path,
                                       std::chrono::milliseconds deadline = kFileSystemDeadline);

}  // namespace mountleak

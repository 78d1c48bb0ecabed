// SPDX-License-Identifier: Apache-2.0
#pragma once

// Work that must touch a file a container controls runs in a child process
// with a deadline: a FUSE server that never answers, a dead NFS mount or a
// FIFO can then hold only the child, which is killed and reaped when the
// deadline passes. Never a thread: a thread stuck in a file system cannot
// be killed, and it would keep the agent's memory and descriptors.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "util/result.h"

namespace mountleak {

// Long enough for any local file system under load, short enough that one
// unanswered request does not stall the tracer for long.
inline constexpr std::chrono::milliseconds kFileSystemDeadline{2000};

// A child killed at its deadline may not die at once: a FUSE request the
// server has already read keeps it until the server answers or goes away.
// Such children are reaped later (at the next call, or by
// reap_abandoned_children()); while this many are still waiting, no new
// child is started, so an unanswering file system costs a bounded number of
// processes.
inline constexpr size_t kMaxAbandonedChildren = 8;

struct ChildOutput {
  std::string bytes;      // all the child wrote before it exited or was killed
  bool timed_out = false;  // the deadline passed and the child was killed
  bool exited_ok = false;  // it exited on its own with status 0
};

// Runs work(write_fd) in a forked child that exits when work returns. The
// caller may have threads, so work may only make system calls: no
// allocation, no locks, nothing that is not async-signal-safe. Prepare
// every string before the call.
Result<ChildOutput> run_with_deadline(const std::function<void(int write_fd)>& work,
                                      std::chrono::milliseconds deadline);

// Reaps the killed children that have died since; returns how many are
// still waiting to die.
size_t reap_abandoned_children();

// write(2) until all of buf is written; for use inside work. False on error.
bool write_all(int fd, const void* buf, size_t len);

}  // namespace mountleak

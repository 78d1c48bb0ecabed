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

#include <sys/types.h>

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

// The same child, for a caller that must not wait for it (trace's event
// loop): start() forks and returns at once; poll() reads what the child has
// written so far without blocking and says whether it is over (exited, or
// killed at its deadline, then reaped or left to reap_abandoned_children()).
// Not copyable: it owns the child and the pipe; destroying one still running
// kills it.
class AsyncChild {
 public:
  static Result<AsyncChild> start(const std::function<void(int write_fd)>& work, std::chrono::milliseconds deadline);
  AsyncChild(AsyncChild&& other) noexcept;
  AsyncChild& operator=(AsyncChild&& other) noexcept;
  AsyncChild(const AsyncChild&) = delete;
  AsyncChild& operator=(const AsyncChild&) = delete;
  ~AsyncChild();

  // True once the child is over; output() is then final.
  bool poll();
  // Kills it now, as its deadline would (a stop that cannot wait).
  void kill_now();
  const ChildOutput& output() const { return out_; }
  bool done() const { return done_; }

 private:
  AsyncChild(pid_t pid, int read_fd, std::chrono::steady_clock::time_point until)
      : pid_(pid), read_fd_(read_fd), until_(until) {}
  void finish_killed();

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::chrono::steady_clock::time_point until_;
  ChildOutput out_;
  bool eof_ = false;
  bool done_ = false;
};

// Reaps the killed children that have died since; returns how many are
// still waiting to die.
size_t reap_abandoned_children();

// write(2) until all of buf is written; for use inside work. False on error.
bool write_all(int fd, const void* buf, size_t len);

}  // namespace mountleak

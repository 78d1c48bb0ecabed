// SPDX-License-Identifier: Apache-2.0
#pragma once

// The passive tier's eyes on mount tables. The kernel wakes whoever polls a
// namespace's /proc/PID/mountinfo with POLLPRI when that namespace's table
// changes: a mount, an unmount, a copy or an unmount propagated into it, a
// propagation change. One open mountinfo per watched namespace, through one
// of its tasks, all in one epoll set: no syscall hook, no cost to the node.
//
// An open mountinfo holds its namespace. Were the watched task the last to
// leave, the namespace and every mount in it would live on for us alone,
// and we would be the leak. So each watch also holds a pidfd of its task,
// in the same epoll set, and the watch is closed as soon as that task is
// seen to exit (take() says which; the caller picks another task of the
// namespace, if one is left). Between the exit and take() the namespace
// outlives its last task: trace takes them every 20 ms.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "util/result.h"

namespace mountleak {

class MountinfoWatch {
 public:
  // `proc`: the host's procfs, where the tasks are looked up.
  static Result<MountinfoWatch> open(std::string proc);
  MountinfoWatch(MountinfoWatch&& other) noexcept;
  MountinfoWatch& operator=(MountinfoWatch&&) = delete;
  MountinfoWatch(const MountinfoWatch&) = delete;
  ~MountinfoWatch();

  enum class Outcome {
    kWatching,
    kNoTask,     // none of the tasks is alive and in the namespace now
    kNoRoom,     // out of descriptors (EMFILE, ENFILE): nothing else is wrong
  };
  // Watches namespace `inode` through the first of `tasks` (at most a few
  // are tried) that is alive and in it, checked before and after its
  // mountinfo is opened so a reused pid cannot make us watch another's.
  Outcome watch(uint64_t inode, const std::vector<int>& tasks);
  void unwatch(uint64_t inode);
  bool watching(uint64_t inode) const { return watches_.count(inode) > 0; }
  std::vector<uint64_t> watched() const;
  size_t size() const { return watches_.size(); }

  struct Happened {
    std::vector<uint64_t> changed;  // their mount tables changed
    std::vector<uint64_t> closed;   // their task exited: no longer watched
  };
  // What happened since the last call; never waits.
  Happened take();

 private:
  struct Watch {
    int mountinfo = -1;
    int pidfd = -1;
  };
  MountinfoWatch(int epoll_fd, std::string proc) : epoll_(epoll_fd), proc_(std::move(proc)) {}
  void close_watch(Watch& w);

  int epoll_ = -1;
  std::string proc_;
  std::map<uint64_t, Watch> watches_;
};

}  // namespace mountleak

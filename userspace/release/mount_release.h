// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one place mountleak changes the node: a forked child enters one
// holder's mount namespace and unmounts the device's mount points there.
//
// A child, not a thread: setns(CLONE_NEWNS) refuses a process that shares
// its file system information with other threads, and a FUSE or NFS mount
// in that namespace could block the unmount, which only a child can be
// given up on (sources/deadline_child.h).
//
// The child trusts nothing it did not check itself: the namespace entered
// must still be the one judged (its nsfs inode), the mount point's parent
// is resolved without following any symlink, the mount point itself is
// never followed (UMOUNT_NOFOLLOW), and what is mounted there must still be
// the device (st_dev), or it is left alone. The unmount is plain: a copy
// still in use fails with EBUSY, unless `lazy` asks for MNT_DETACH.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "model/dev_id.h"
#include "release/release_plan.h"
#include "sources/deadline_child.h"
#include "util/result.h"

namespace mountleak {

// Unmounting a copy that is not the last is quick; the last one flushes the
// file system, which a loaded disk can take seconds over.
inline constexpr std::chrono::milliseconds kUnmountDeadline{10000};

struct UnmountOutcome {
  std::string mountpoint;
  bool unmounted = false;
  int error = 0;        // errno of the step that failed, when not unmounted
  std::string message;  // what failed, for the operator
};

// Enters `mntns` through `door` and unmounts each of `mountpoints` in turn
// (deepest first, as planned), going on after a failure so that each one's
// fate is said. An Error when the namespace could not be entered (gone,
// replaced, a pin that is not one) or the child could not run; the
// outcomes otherwise, one per mount point, in order.
Result<std::vector<UnmountOutcome>> unmount_in_namespace(const std::string& proc, uint64_t mntns, DevId dev,
                                                         const NamespaceDoor& door,
                                                         const std::vector<std::string>& mountpoints, bool lazy,
                                                         std::chrono::milliseconds deadline = kUnmountDeadline);

// The same, for trace's event loop, which must never wait on a hung file
// system: start() forks the child and returns at once; the loop calls
// poll() each turn until it says the child is over (or killed at its
// deadline), then reads outcomes().
class PendingUnmount {
 public:
  static Result<PendingUnmount> start(const std::string& proc, uint64_t mntns, DevId dev, const NamespaceDoor& door,
                                      std::vector<std::string> mountpoints, bool lazy,
                                      std::chrono::milliseconds deadline = kUnmountDeadline);
  // True once the child is over.
  bool poll() { return child_.poll(); }
  // Gives up on the child now (trace is stopping).
  void kill_now() { child_.kill_now(); }
  // As unmount_in_namespace() returns them; only once poll() said true.
  Result<std::vector<UnmountOutcome>> outcomes() const;

 private:
  PendingUnmount(AsyncChild child, uint64_t mntns, NamespaceDoor door, std::vector<std::string> mountpoints, bool lazy,
                 std::chrono::milliseconds deadline)
      : child_(std::move(child)),
        mntns_(mntns),
        door_(std::move(door)),
        mountpoints_(std::move(mountpoints)),
        lazy_(lazy),
        deadline_(deadline) {}

  AsyncChild child_;
  uint64_t mntns_;
  NamespaceDoor door_;
  std::vector<std::string> mountpoints_;
  bool lazy_;
  std::chrono::milliseconds deadline_;
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "release/mount_release.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstring>

#include "sources/deadline_child.h"
#include "util/errno_text.h"
#include "util/fd_entry.h"

namespace mountleak {

namespace {

constexpr long kNsfsMagic = 0x6e736673;  // NSFS_MAGIC, linux/magic.h

// Entering, reported in the header the child sends first.
enum EnterStep : int32_t {
  kEntered = 0,
  kNoMember = 1,      // no process of the door is still in the namespace judged
  kPinOpen = 2,       // the pin could not be opened in any root
  kPinNotNsfs = 3,    // something other than a namespace file is there
  kPinChanged = 4,    // the pin now keeps another namespace
  kThreadSelf = 5,
  kSetns = 6,
  kChroot = 7,
};

// Each mount point's fate, one record each after the header.
enum UnmountStage : int32_t {
  kUnmounted = 0,
  kBadName = 1,
  kResolveParent = 2,
  kStat = 3,
  kSymlink = 4,
  kCovered = 5,
  kChdir = 6,
  kUmount = 7,
};

struct ChildRecord {
  int32_t step;
  int32_t err;
};

// A mount point split before fork (the child may not allocate): the parent
// directory, resolved without symlinks, and the last component, unmounted
// relative to it.
struct SplitPath {
  std::string parent;
  std::string base;
};

SplitPath split(const std::string& mp) {
  const size_t slash = mp.rfind('/');
  if (slash == std::string::npos) return {"", mp};
  return {slash == 0 ? "/" : mp.substr(0, slash), mp.substr(slash + 1)};
}


int openat2_fd(int dirfd, const char* path, uint64_t flags, uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

bool is_namespace(int fd, uint64_t mntns) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_ino) == mntns;
}

std::string enter_message(int32_t step, int err, uint64_t mntns, const NamespaceDoor& door) {
  const std::string ns = "mount namespace " + std::to_string(mntns);
  auto with_errno = [&](const std::string& what) { return err ? what + ": " + std::strerror(err) : what; };
  switch (step) {
    case kNoMember:
      return ns + " is no longer the namespace of any of its processes (they exited or moved): not entered";
    case kPinOpen: return with_errno("opening its nsfs pin " + door.pin_path);
    case kPinNotNsfs: return door.pin_path + " is no longer a namespace file: not entered";
    case kPinChanged: return door.pin_path + " now keeps another namespace than " + ns + ": not entered";
    case kThreadSelf: return with_errno("opening /proc/thread-self");
    case kSetns:
      return with_errno("setns into " + ns) +
             (err == EPERM ? " (needs CAP_SYS_ADMIN and CAP_SYS_CHROOT)" : "");
    case kChroot: return with_errno("entering the holder's root in " + ns);
  }
  return "entering " + ns + ": the child failed before saying why";
}

std::string unmount_message(int32_t stage, int err, const std::string& mp, bool lazy) {
  auto with_errno = [&](const std::string& what) { return what + ": " + std::strerror(err); };
  switch (stage) {
    case kBadName: return mp + " has no last component release can unmount";
    case kResolveParent:
      return with_errno("resolving the directory of " + mp + " without following symlinks") +
             (err == ELOOP ? " (a symlink is on the way: the container may have changed it)" : "");
    case kStat: return with_errno("looking at " + mp);
    case kSymlink: return mp + " is now a symlink: not followed, not unmounted";
    case kCovered: return "another file system is mounted over the device at " + mp + ": left alone";
    case kChdir: return with_errno("entering the directory of " + mp);
    case kUmount:
      return with_errno(std::string(lazy ? "umount2(MNT_DETACH) " : "umount2 ") + mp) +
             (err == EBUSY ? " (the copy is in use: a file on it is open, a process has its cwd there, or "
                             "something is mounted inside it; --lazy detaches it anyway)"
                           : "");
  }
  return mp + ": the child stopped before saying";
}

// Everything the child needs, prepared before fork: it may not allocate.
struct PreparedUnmount {
  std::vector<std::string> ns_files, roots;
  bool by_pin = false;
  std::string pin;
  std::string thread_self;
  std::vector<SplitPath> paths;
  dev_t want_dev = 0;
  int flags = 0;
  uint64_t mntns = 0;
};

PreparedUnmount prepare(const std::string& proc, uint64_t mntns, DevId dev, const NamespaceDoor& door,
                        const std::vector<std::string>& mountpoints, bool lazy) {
  PreparedUnmount p;
  p.mntns = mntns;
  p.by_pin = door.pids.empty();
  const std::vector<int>& pids = p.by_pin ? door.pin_root_pids : door.pids;
  for (int pid : pids) {
    p.ns_files.push_back(proc + "/" + std::to_string(pid) + "/ns/mnt");
    p.roots.push_back(proc + "/" + std::to_string(pid) + "/root");
  }
  p.pin = door.pin_path;
  while (!p.pin.empty() && p.pin.front() == '/') p.pin.erase(0, 1);
  if (p.pin.empty()) p.pin = ".";
  p.thread_self = proc + "/thread-self";
  for (const auto& mp : mountpoints) p.paths.push_back(split(mp));
  p.want_dev = makedev(dev.major, dev.minor);
  p.flags = (lazy ? MNT_DETACH : 0) | UMOUNT_NOFOLLOW;
  return p;
}

// The child: enters the namespace, then unmounts each mount point, sending
// a ChildRecord for the entering and one per mount point.
void unmount_child(const PreparedUnmount& prepared, int out) {
  const auto& [ns_files, roots, by_pin, pin, thread_self, paths, want_dev, flags, mntns] = prepared;
  auto send = [&](int32_t step, int err) {
    const ChildRecord r{step, err};
    if (!write_all(out, &r, sizeof r)) ::_exit(1);
  };
  auto fail = [&](int32_t step) {
    send(step, errno);
    ::_exit(1);
  };
  int ns_fd = -1, root_fd = -1;
  if (!by_pin) {
    for (size_t i = 0; i < ns_files.size() && ns_fd < 0; ++i) {
      root_fd = ::open(roots[i].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      ns_fd = ::open(ns_files[i].c_str(), O_RDONLY | O_CLOEXEC);
      // Checked after both are open: a pid reused in between would show
      // another namespace here.
      if (root_fd >= 0 && ns_fd >= 0 && is_namespace(ns_fd, mntns)) break;
      if (root_fd >= 0) ::close(root_fd);
      if (ns_fd >= 0) ::close(ns_fd);
      root_fd = ns_fd = -1;
    }
    if (ns_fd < 0) {
      errno = 0;
      fail(kNoMember);
    }
  } else {
    const int dir = ::open(thread_self.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) fail(kThreadSelf);
    int path_fd = -1;
    for (size_t i = 0; i < roots.size() && path_fd < 0; ++i) {
      const int r = ::open(roots[i].c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (r < 0) continue;
      // The pin is a path of a container's: resolved inside its root.
      path_fd = openat2_fd(r, pin.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC,
                           RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
      const int err = errno;
      ::close(r);
      errno = err;
    }
    if (path_fd < 0) fail(kPinOpen);
    struct statfs fs {};
    if (::fstatfs(path_fd, &fs) != 0 || fs.f_type != kNsfsMagic) {
      errno = 0;
      fail(kPinNotNsfs);
    }
    char entry[32];
    ns_fd = ::openat(dir, fd_entry(entry, path_fd), O_RDONLY | O_CLOEXEC);
    if (ns_fd < 0) fail(kPinOpen);
    if (!is_namespace(ns_fd, mntns)) {
      errno = 0;
      fail(kPinChanged);
    }
  }
  if (::setns(ns_fd, CLONE_NEWNS) != 0) fail(kSetns);
  // Mount points are as the holder's processes see them: from their
  // root (a pinned namespace's are from its own root, where setns
  // leaves us).
  if (root_fd >= 0 ? (::fchdir(root_fd) != 0 || ::chroot(".") != 0) : ::chdir("/") != 0) fail(kChroot);
  send(kEntered, 0);

  for (const auto& p : paths) {
    if (p.parent.empty() || p.base.empty() || p.base == "." || p.base == "..") {
      send(kBadName, EINVAL);
      continue;
    }
    const int parent = openat2_fd(AT_FDCWD, p.parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC,
                                  RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (parent < 0) {
      send(kResolveParent, errno);
      continue;
    }
    struct stat st {};
    int32_t stage = kUnmounted;
    int err = 0;
    if (::fstatat(parent, p.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      stage = kStat, err = errno;
    else if (S_ISLNK(st.st_mode))
      stage = kSymlink;
    else if (st.st_dev != want_dev)
      stage = kCovered;
    else if (::fchdir(parent) != 0)
      stage = kChdir, err = errno;
    else if (::umount2(p.base.c_str(), flags) != 0)
      stage = kUmount, err = errno;
    ::close(parent);
    send(stage, err);
  }
}

// The child's records as outcomes, or the Error that kept it out of the
// namespace.
Result<std::vector<UnmountOutcome>> outcomes_of(const ChildOutput& output, uint64_t mntns, const NamespaceDoor& door,
                                                const std::vector<std::string>& mountpoints, bool lazy,
                                                std::chrono::milliseconds deadline) {
  const ChildOutput* child = &output;
  const std::string& bytes = child->bytes;
  const size_t records = bytes.size() / sizeof(ChildRecord);
  auto record = [&](size_t i) {
    ChildRecord r{};
    std::memcpy(&r, bytes.data() + i * sizeof(ChildRecord), sizeof r);
    return r;
  };
  if (records == 0 || record(0).step != kEntered) {
    if (child->timed_out)
      return Error{"entering mount namespace " + std::to_string(mntns) + ": no answer within " +
                       std::to_string(deadline.count()) + " ms (a file system on the way does not respond)",
                   ETIMEDOUT};
    const ChildRecord r = records ? record(0) : ChildRecord{-1, 0};
    return Error{enter_message(r.step, r.err, mntns, door), r.err};
  }
  std::vector<UnmountOutcome> outcomes;
  for (size_t i = 0; i < mountpoints.size(); ++i) {
    UnmountOutcome o;
    o.mountpoint = mountpoints[i];
    if (i + 1 < records) {
      const ChildRecord r = record(i + 1);
      o.unmounted = r.step == kUnmounted;
      o.error = r.err;
      if (!o.unmounted) o.message = unmount_message(r.step, r.err, o.mountpoint, lazy);
    } else {
      o.error = child->timed_out ? ETIMEDOUT : 0;
      o.message = child->timed_out ? "no answer within " + std::to_string(deadline.count()) +
                                         " ms (a file system there does not respond); the child was killed"
                                   : "the child stopped before reaching " + o.mountpoint;
    }
    outcomes.push_back(std::move(o));
  }
  return outcomes;
}

}  // namespace

Result<std::vector<UnmountOutcome>> unmount_in_namespace(const std::string& proc, uint64_t mntns, DevId dev,
                                                         const NamespaceDoor& door,
                                                         const std::vector<std::string>& mountpoints, bool lazy,
                                                         std::chrono::milliseconds deadline) {
  const PreparedUnmount prepared = prepare(proc, mntns, dev, door, mountpoints, lazy);
  auto child = run_with_deadline([&](int out) { unmount_child(prepared, out); }, deadline);
  if (!child) return Error{"unmounting in mount namespace " + std::to_string(mntns) + ": " + child.error().message,
                           child.error().errno_value};
  return outcomes_of(*child, mntns, door, mountpoints, lazy, deadline);
}

Result<PendingUnmount> PendingUnmount::start(const std::string& proc, uint64_t mntns, DevId dev,
                                             const NamespaceDoor& door, std::vector<std::string> mountpoints,
                                             bool lazy, std::chrono::milliseconds deadline) {
  const PreparedUnmount prepared = prepare(proc, mntns, dev, door, mountpoints, lazy);
  auto child = AsyncChild::start([&](int out) { unmount_child(prepared, out); }, deadline);
  if (!child) return Error{"unmounting in mount namespace " + std::to_string(mntns) + ": " + child.error().message,
                           child.error().errno_value};
  return PendingUnmount(std::move(*child), mntns, door, std::move(mountpoints), lazy, deadline);
}

Result<std::vector<UnmountOutcome>> PendingUnmount::outcomes() const {
  return outcomes_of(child_.output(), mntns_, door_, mountpoints_, lazy_, deadline_);
}

}  // namespace mountleak

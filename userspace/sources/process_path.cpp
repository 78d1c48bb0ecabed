// SPDX-License-Identifier: Apache-2.0
#include "sources/process_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

namespace mountleak {

namespace {

// What the child sends back: a failed step with its errno, or the facts.
struct Answer {
  int32_t step = 0;  // 0: done
  int32_t err = 0;
  uint32_t dev_major = 0, dev_minor = 0, rdev_major = 0, rdev_minor = 0, mode = 0;
};

constexpr int32_t kStepBase = 1, kStepResolve = 2, kStepStatx = 3;

}  // namespace

Result<PathFacts> stat_in_process_root(const std::string& proc, int pid, int dirfd, const std::string& path,
                                       std::chrono::milliseconds deadline) {
  if (path.empty()) return Error{"an empty path names nothing", ENOENT};
  if (path.find('\0') != std::string::npos) return Error{"a path with a NUL byte names nothing", EINVAL};
  const bool absolute = path.front() == '/';
  // Prepared before fork: the child may only make system calls.
  const std::string pid_dir = proc + "/" + std::to_string(pid);
  const std::string base = absolute                ? pid_dir + "/root"
                           : dirfd == AT_FDCWD     ? pid_dir + "/cwd"
                                                   : pid_dir + "/fd/" + std::to_string(dirfd);
  const size_t first = path.find_first_not_of('/');
  const std::string rest = first == std::string::npos ? "." : path.substr(first);
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_NO_MAGICLINKS | (absolute ? RESOLVE_IN_ROOT : RESOLVE_BENEATH);

  auto child = run_with_deadline(
      [&](int out) {
        Answer a;
        auto fail = [&](int32_t step) {
          a.step = step;
          a.err = errno;
          (void)write_all(out, &a, sizeof a);
          ::_exit(1);
        };
        // The process's root or cwd is a magic link, but one the kernel
        // keeps for it: opening it is not resolving anything the process wrote.
        const int base_fd = ::open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (base_fd < 0) fail(kStepBase);
        const int fd = static_cast<int>(::syscall(SYS_openat2, base_fd, rest.c_str(), &how, sizeof how));
        if (fd < 0) fail(kStepResolve);
        struct statx sx {};
        if (::statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MODE, &sx) != 0)
          fail(kStepStatx);
        a.dev_major = sx.stx_dev_major;
        a.dev_minor = sx.stx_dev_minor;
        a.rdev_major = sx.stx_rdev_major;
        a.rdev_minor = sx.stx_rdev_minor;
        a.mode = sx.stx_mode;
        (void)write_all(out, &a, sizeof a);
      },
      deadline);
  const std::string what = "looking up " + path + " for PID " + std::to_string(pid);
  if (!child) return Error{what + ": " + child.error().message, child.error().errno_value};
  if (child->timed_out)
    return Error{what + ": no answer within " + std::to_string(deadline.count()) +
                     " ms (a file system on the way does not respond); the lookup was killed",
                 ETIMEDOUT};
  Answer a;
  a.step = -1;
  if (child->bytes.size() == sizeof a) std::memcpy(&a, child->bytes.data(), sizeof a);
  switch (a.step) {
    case 0:
      if (!child->exited_ok) break;
      return PathFacts{DevId{a.dev_major, a.dev_minor}, DevId{a.rdev_major, a.rdev_minor}, a.mode};
    case kStepBase:
      return Error::from_errno(what + ": opening " + base, a.err);
    case kStepResolve:
      if (a.err == ENOSYS) return Error{what + ": this kernel has no openat2 (5.6+); not resolved", ENOSYS};
      if (a.err == EXDEV)
        return Error{what + ": it leaves the process's " + std::string(absolute ? "root" : "directory") +
                         " or crosses a /proc magic link; not resolved",
                     EXDEV};
      return Error::from_errno(what, a.err);
    case kStepStatx:
      return Error::from_errno(what + ": statx", a.err);
    default:
      break;
  }
  return Error{what + ": the lookup child failed", 0};
}

}  // namespace mountleak

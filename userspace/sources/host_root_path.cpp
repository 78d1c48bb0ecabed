// SPDX-License-Identifier: Apache-2.0
#include "sources/host_root_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/stat.h>

#include <charconv>
#include <climits>

namespace mountleak {

namespace {

std::string trimmed_root(const HostPaths& paths) {
  std::string root = paths.host_root.empty() ? "/" : paths.host_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

std::string without_host_root(const HostPaths& paths, const std::string& path) {
  const std::string root = trimmed_root(paths);
  if (root == "/") return path;
  if (path == root) return "/";
  if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 && path[root.size()] == '/')
    return path.substr(root.size());
  return path;
}

Result<std::string> resolve_host_path(const HostPaths& paths, const std::string& host_path) {
  const std::string root = trimmed_root(paths);
  Fd root_fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.get() < 0) return Error::from_errno("opening the host root " + root);
  std::string relative = host_path;
  while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
  if (relative.empty()) relative = ".";
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  Fd fd(static_cast<int>(syscall(SYS_openat2, root_fd.get(), relative.c_str(), &how, sizeof(how))));
  if (fd.get() < 0) return Error::from_errno("resolving " + host_path + " inside the host root " + root);
  char buf[PATH_MAX];
  std::string link = "/proc/self/fd/" + std::to_string(fd.get());
  ssize_t n = readlink(link.c_str(), buf, sizeof(buf));
  if (n < 0) return Error::from_errno("reading " + link + " (the path " + host_path + " resolves to)");
  std::string resolved(buf, static_cast<size_t>(n));
  if (root == "/") return resolved;
  if (resolved == root) return std::string("/");
  if (resolved.compare(0, root.size() + 1, root + "/") != 0)
    return Error{host_path + " resolves to " + resolved + ", outside the host root " + root, EXDEV};
  return resolved.substr(root.size());
}

Status check_host_root(const HostPaths& paths, const std::string& host_mntns) {
  int pid = 1;
  int given = 0;
  auto [end, err] = std::from_chars(host_mntns.data(), host_mntns.data() + host_mntns.size(), given);
  if (err == std::errc() && end == host_mntns.data() + host_mntns.size() && given > 0) pid = given;
  const std::string root = trimmed_root(paths);
  const std::string theirs = paths.proc() + "/" + std::to_string(pid) + "/root";
  struct stat ours {}, host {};
  if (stat(root.c_str(), &ours) != 0) return Error::from_errno("the host root " + root);
  // Unreadable (no CAP_SYS_PTRACE over it, or no such pid): nothing to
  // compare with; the commands report what they cannot read themselves.
  if (stat(theirs.c_str(), &host) != 0) return ok_status();
  if (ours.st_dev == host.st_dev && ours.st_ino == host.st_ino) return ok_status();
  return Error{"the host root " + root + " is not the root of the host's processes (" + theirs +
                   "): mountleak runs in a chroot or a container" +
                   (root == "/" ? " without --host-root" : ", and --host-root points elsewhere") +
                   ", so host paths would resolve to the wrong files. Give it the host's / (a DaemonSet: a "
                   "hostPath volume of / at /host with mountPropagation: HostToContainer, and hostPID) and "
                   "pass --host-root /host",
               EXDEV};
}

}  // namespace mountleak

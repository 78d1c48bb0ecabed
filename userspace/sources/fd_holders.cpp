// SPDX-License-Identifier: Apache-2.0
#include "sources/fd_holders.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "sources/procfs.h"

namespace mountleak {

namespace {

std::string read_link_at(int dirfd, const char* name) {
  char buf[4096];
  const ssize_t n = ::readlinkat(dirfd, name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// Which of devs the stat result belongs to, and whether it is the node itself.
const DevId* match(const struct stat& st, const std::vector<DevId>& devs, bool& device_node) {
  if (S_ISBLK(st.st_mode)) {
    const DevId rdev = DevId::from_dev_t(st.st_rdev);
    for (const auto& d : devs)
      if (d == rdev) {
        device_node = true;
        return &d;
      }
  }
  const DevId sdev = DevId::from_dev_t(st.st_dev);
  for (const auto& d : devs)
    if (d == sdev) {
      device_node = false;
      return &d;
    }
  return nullptr;
}

// Returns false when the process is gone.
bool scan_process(int pid_dir, int pid, const std::vector<DevId>& devs, std::vector<FdHolder>& out,
                  ScanCounters& counters) {
  struct stat st {};
  for (const char* kind : {"cwd", "root", "exe"}) {
    if (::fstatat(pid_dir, kind, &st, 0) != 0) continue;  // kernel threads have none
    bool node = false;
    if (const DevId* d = match(st, devs, node))
      out.push_back({pid, -1, read_link_at(pid_dir, kind), *d, kind, node});
  }

  const int fd_dir = ::openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_dir < 0) {
    if (errno == ENOENT || errno == ESRCH) return false;
    ++counters.fds_unreadable;
    return true;
  }
  DIR* dir = ::fdopendir(fd_dir);
  if (dir == nullptr) {
    ::close(fd_dir);
    ++counters.fds_unreadable;
    return true;
  }
  while (const dirent* de = ::readdir(dir)) {
    const char* name = de->d_name;
    const size_t len = std::strlen(name);
    int fd = -1;
    auto [end, err] = std::from_chars(name, name + len, fd);
    if (err != std::errc() || end != name + len) continue;  // "." and ".."
    ++counters.fds_scanned;
    // stat() follows the magic link to the open file itself, wherever (and
    // in whichever namespace) it lives.
    if (::fstatat(fd_dir, name, &st, 0) != 0) {
      if (errno != ENOENT) ++counters.fds_unreadable;  // ENOENT: closed meanwhile
      continue;
    }
    bool node = false;
    if (const DevId* d = match(st, devs, node))
      out.push_back({pid, fd, read_link_at(fd_dir, name), *d, "fd", node});
  }
  ::closedir(dir);
  return true;
}

}  // namespace

std::vector<FdHolder> find_fd_holders(const HostPaths& paths, const std::vector<DevId>& devs,
                                      const std::vector<int>& pids, ScanCounters& counters) {
  std::vector<FdHolder> out;
  if (devs.empty()) return out;
  const std::string proc = paths.proc();
  const std::vector<int> all = pids.empty() ? list_pids(proc) : std::vector<int>();
  const std::vector<int>& todo = pids.empty() ? all : pids;
  for (const int pid : todo) {
    const std::string dir = proc + "/" + std::to_string(pid);
    const int pid_dir = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pid_dir < 0) {
      if (errno == ENOENT || errno == ESRCH)
        ++counters.pids_vanished;
      else
        ++counters.pids_unreadable;
      continue;
    }
    if (!scan_process(pid_dir, pid, devs, out, counters)) ++counters.pids_vanished;
    ::close(pid_dir);
  }
  return out;
}

std::vector<FdHolder> find_fd_holders(const HostPaths& paths, DevId dev,
                                      const std::vector<int>& pids, ScanCounters& counters) {
  return find_fd_holders(paths, std::vector<DevId>{dev}, pids, counters);
}

std::vector<std::string> sysfs_holders(const HostPaths& paths, const std::string& kernel_name) {
  std::vector<std::string> out;
  const std::string path = paths.sys() + "/class/block/" + kernel_name + "/holders";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return out;
  while (const dirent* de = ::readdir(dir)) {
    if (std::strcmp(de->d_name, ".") == 0 || std::strcmp(de->d_name, "..") == 0) continue;
    out.emplace_back(de->d_name);
  }
  ::closedir(dir);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace mountleak

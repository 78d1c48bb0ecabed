// SPDX-License-Identifier: Apache-2.0
#include "sources/fd_holders.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <string_view>

#include "sources/memory_maps.h"
#include "sources/procfs.h"

namespace mountleak {

namespace {

std::string read_link_at(int dirfd, const char* name) {
  char buf[4096];
  const ssize_t n = ::readlinkat(dirfd, name, buf, sizeof buf);
  return n < 0 ? std::string() : std::string(buf, static_cast<size_t>(n));
}

// What statx says of a file, asked with AT_STATX_DONT_SYNC: the attributes
// the kernel has cached, so that FUSE and network file systems are not
// asked again (a server that never answers would hold us).
struct FileFacts {
  uint32_t mode = 0;
  DevId dev, rdev;
};

bool statx_cached(int dirfd, const char* name, FileFacts& out) {
  struct statx sx {};
  if (::statx(dirfd, name, AT_STATX_DONT_SYNC, STATX_TYPE | STATX_MODE, &sx) != 0) return false;
  out.mode = sx.stx_mode;
  out.dev = DevId{sx.stx_dev_major, sx.stx_dev_minor};
  out.rdev = DevId{sx.stx_rdev_major, sx.stx_rdev_minor};
  return true;
}

// Which of devs the file belongs to, and whether it is the node itself.
const DevId* match(const FileFacts& f, const std::vector<DevId>& devs, bool& device_node) {
  if (S_ISBLK(f.mode))
    for (const auto& d : devs)
      if (d == f.rdev) {
        device_node = true;
        return &d;
      }
  for (const auto& d : devs)
    if (d == f.dev) {
      device_node = false;
      return &d;
    }
  return nullptr;
}

}  // namespace

bool served_remotely(std::string_view fs_type) {
  static constexpr std::string_view kServed[] = {"fuse", "fuseblk", "nfs", "nfs4", "cifs", "smb3", "smbfs",
                                                 "ceph", "9p", "afs", "glusterfs", "lustre", "virtiofs"};
  if (fs_type.substr(0, 5) == "fuse.") return true;
  for (auto t : kServed)
    if (fs_type == t) return true;
  return false;
}

namespace {

// The mount a descriptor was opened through, from /proc/PID/fdinfo/N: the
// kernel answers from the open file, without asking its file system.
std::optional<uint64_t> fd_mount_id(int fdinfo_dir, const char* name) {
  const int fd = ::openat(fdinfo_dir, name, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[512];
  const ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  const std::string_view text(buf, static_cast<size_t>(n));
  const size_t at = text.find("\nmnt_id:");
  if (at == std::string_view::npos) return std::nullopt;
  size_t i = at + 8;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  uint64_t id = 0;
  auto [end, err] = std::from_chars(text.data() + i, text.data() + text.size(), id);
  if (err != std::errc() || end == text.data() + i) return std::nullopt;
  return id;
}

// Files on one of devs that the process has mapped, but not its executable
// again (it is mapped too, and already named as "exe").
void scan_mapped_files(int pid_dir, int pid, const std::vector<DevId>& devs, std::vector<FdHolder>& out) {
  const bool exe = !out.empty() && out.back().pid == pid && out.back().kind == "exe";
  const std::string exe_target = exe ? out.back().target : std::string();
  for_each_mapped_file(pid_dir, [&](const MappedFile& m) {
    if (std::find(devs.begin(), devs.end(), m.dev) == devs.end() || (exe && m.path == exe_target)) return;
    out.push_back({pid, -1, m.path, m.dev, "map", false});
  });
}

// "mnt:[4026531840]": the kernel answers it without any file system.
uint64_t mount_namespace_of(int pid_dir) {
  const std::string link = read_link_at(pid_dir, "ns/mnt");
  uint64_t inode = 0;
  if (link.size() < 7 || link.compare(0, 5, "mnt:[") != 0 || link.back() != ']') return 0;
  auto [end, err] = std::from_chars(link.data() + 5, link.data() + link.size() - 1, inode);
  return err == std::errc() && end == link.data() + link.size() - 1 ? inode : 0;
}

// What one process holds. Returns false when the process is gone.
bool scan_process_holds(int pid_dir, int pid, const std::vector<DevId>& devs, const MountIndex& mounts,
                        std::vector<FdHolder>& out, ScanCounters& counters) {
  FileFacts facts;
  for (const char* kind : {"cwd", "root", "exe"}) {
    if (!statx_cached(pid_dir, kind, facts)) continue;  // kernel threads have none
    bool node = false;
    if (const DevId* d = match(facts, devs, node))
      out.push_back({pid, -1, read_link_at(pid_dir, kind), *d, kind, node});
  }
  scan_mapped_files(pid_dir, pid, devs, out);

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
  // Which mount a descriptor is on matters only for mounts not to follow.
  const int fdinfo_dir = mounts.empty() ? -1 : ::openat(pid_dir, "fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  while (const dirent* de = ::readdir(dir)) {
    const char* name = de->d_name;
    const size_t len = std::strlen(name);
    int fd = -1;
    auto [end, err] = std::from_chars(name, name + len, fd);
    if (err != std::errc() || end != name + len) continue;  // "." and ".."
    ++counters.fds_scanned;
    const auto mnt_id = fdinfo_dir >= 0 ? fd_mount_id(fdinfo_dir, name) : std::nullopt;
    const auto mount = mnt_id ? mounts.find(*mnt_id) : mounts.end();
    if (mount != mounts.end()) {
      ++counters.fds_from_mount_table;
      for (const auto& d : devs)
        if (d == mount->second) out.push_back({pid, fd, read_link_at(fd_dir, name), d, "fd", false});
      continue;
    }
    // statx follows the magic link to the open file itself, wherever (and
    // in whichever namespace) it lives.
    if (!statx_cached(fd_dir, name, facts)) {
      if (errno != ENOENT) ++counters.fds_unreadable;  // ENOENT: closed meanwhile
      continue;
    }
    bool node = false;
    if (const DevId* d = match(facts, devs, node))
      out.push_back({pid, fd, read_link_at(fd_dir, name), *d, "fd", node});
  }
  if (fdinfo_dir >= 0) ::close(fdinfo_dir);
  ::closedir(dir);
  return true;
}

// Returns false when the process is gone.
bool scan_process(int pid_dir, int pid, const std::vector<DevId>& devs, const MountIndex& mounts,
                  std::vector<FdHolder>& out, ScanCounters& counters) {
  const size_t first = out.size();
  const bool alive = scan_process_holds(pid_dir, pid, devs, mounts, out, counters);
  if (out.size() > first) {
    const uint64_t mntns = mount_namespace_of(pid_dir);
    for (size_t i = first; i < out.size(); ++i) out[i].mntns = mntns;
  }
  return alive;
}

}  // namespace

MountIndex index_remote_mounts(const std::map<uint64_t, MountNamespace>& namespaces) {
  MountIndex index;
  for (const auto& [inode, ns] : namespaces)
    for (const auto& m : ns.mounts)
      if (served_remotely(m.fs_type)) index.emplace(m.mount_id, m.dev);
  return index;
}

std::vector<FdHolder> find_fd_holders(const HostPaths& paths, const std::vector<DevId>& devs,
                                      const std::vector<int>& pids, ScanCounters& counters,
                                      const MountIndex& mounts) {
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
    if (!scan_process(pid_dir, pid, devs, mounts, out, counters)) ++counters.pids_vanished;
    ::close(pid_dir);
  }
  return out;
}

std::vector<FdHolder> find_fd_holders(const HostPaths& paths, DevId dev,
                                      const std::vector<int>& pids, ScanCounters& counters,
                                      const MountIndex& mounts) {
  return find_fd_holders(paths, std::vector<DevId>{dev}, pids, counters, mounts);
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

// SPDX-License-Identifier: Apache-2.0
#include "sources/descriptor_pins.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <set>

#include "sources/namespace_enumerator.h"
#include "sources/procfs.h"

namespace mountleak {

namespace {

// The pins among one process's descriptors (none when its fd directory
// cannot be read: it is gone, or a kernel thread).
void scan_descriptors(int pid_dir, int pid, const std::function<bool(uint64_t)>& known, std::set<uint64_t>& seen,
                      std::vector<DescriptorPin>& out) {
  const int fd_dir = ::openat(pid_dir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_dir < 0) return;
  DIR* dir = ::fdopendir(fd_dir);
  if (dir == nullptr) {
    ::close(fd_dir);
    return;
  }
  // Any link longer than this is a path or another kind of file, never a
  // mount namespace's "mnt:[N]"; readlinkat cuts it short harmlessly.
  char link[40];
  while (const dirent* de = ::readdir(dir)) {
    const char* name = de->d_name;
    int fd = -1;
    auto [end, err] = std::from_chars(name, name + std::strlen(name), fd);
    if (err != std::errc() || *end != '\0') continue;  // "." and ".."
    const ssize_t n = ::readlinkat(fd_dir, name, link, sizeof link);
    if (n <= 0 || static_cast<size_t>(n) >= sizeof link) continue;
    const auto inode = parse_mnt_ns_root(std::string_view(link, static_cast<size_t>(n)));
    if (!inode || known(*inode) || !seen.insert(*inode).second) continue;
    out.push_back({*inode, pid, fd});
  }
  ::closedir(dir);
}

}  // namespace

std::vector<DescriptorPin> find_descriptor_pins(const std::string& proc,
                                                const std::function<bool(uint64_t)>& known) {
  std::vector<DescriptorPin> out;
  std::set<uint64_t> seen;
  for (const int pid : list_pids(proc)) {
    const std::string dir = proc + "/" + std::to_string(pid);
    const int pid_dir = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (pid_dir < 0) continue;  // gone
    scan_descriptors(pid_dir, pid, known, seen, out);
    ::close(pid_dir);
  }
  return out;
}

std::optional<DescriptorPin> find_descriptor_pin(const std::string& proc, uint64_t mntns) {
  const auto pins = find_descriptor_pins(proc, [mntns](uint64_t inode) { return inode != mntns; });
  if (pins.empty()) return std::nullopt;
  return pins.front();
}

bool descriptor_still_pins(const std::string& proc, const DescriptorPin& pin) {
  const std::string path = proc + "/" + std::to_string(pin.pid) + "/fd/" + std::to_string(pin.fd);
  char link[40];
  const ssize_t n = ::readlink(path.c_str(), link, sizeof link);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof link) return false;
  return parse_mnt_ns_root(std::string_view(link, static_cast<size_t>(n))) == pin.mntns;
}

}  // namespace mountleak

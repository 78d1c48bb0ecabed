// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/tracefs.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "util/errno_text.h"

namespace mountleak {

namespace {

// Where libbpf and the tracing tools look, in our order of preference.
constexpr const char* kMountPoints[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};

constexpr const char* kHowToMount = "mount -t tracefs nodev /sys/kernel/tracing";

// An O_PATH descriptor of the tracefs mounted at `path`, or -1. O_PATH
// without O_DIRECTORY stops on an automount point instead of triggering
// it: debugfs's "tracing" is one, and opening it for real (or any path
// below it) would mount tracefs there, in our namespace, for good. So
// a tracefs counts as mounted only when it already is.
int open_mounted(const char* path) {
  int fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  struct statfs st {};
  if (fstatfs(fd, &st) != 0 || st.f_type != TRACEFS_MAGIC) {
    close(fd);
    return -1;
  }
  return fd;
}

struct TracefsSource {
  TracefsStatus status;
  const char* mounted_at = nullptr;  // where a mounted tracefs was found
  // The detached mount, kept for the life of the process: it is in no
  // namespace, so nothing propagates to or from it and no unmount can
  // find it busy, and tracefs itself is a kernel singleton it cannot pin.
  int detached = -1;
};

TracefsSource decide() {
  for (const char* path : kMountPoints) {
    int fd = open_mounted(path);
    if (fd < 0) continue;
    close(fd);
    return {{true, std::string("mounted at ") + path}, path, -1};
  }
  // fsopen(2) and fsmount(2) (Linux 5.2, before /sys/kernel/btf/vmlinux,
  // which mountleak needs, came in 5.4) make a mount that is attached
  // nowhere and goes away with its last descriptor.
  const char* step = "fsopen";
  int mnt = -1;
  int fs = fsopen("tracefs", FSOPEN_CLOEXEC);
  if (fs >= 0) {
    step = "fsconfig";
    if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) {
      step = "fsmount";
      mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    }
  }
  int err = errno;
  if (fs >= 0) close(fs);
  if (mnt < 0)
    return {{false, std::string("not mounted, and a detached tracefs mount failed (") + step + ": " +
                        errno_text(err) + "); mount it with `" + kHowToMount +
                        "` for tracepoint programs to attach"}};
  return {{true, "not mounted; tracepoint ids read through a detached tracefs mount (nothing mounted)"}, nullptr, mnt};
}

const TracefsSource& source() {
  static const TracefsSource decided = decide();
  return decided;
}

bool plain_name(const std::string& s) { return !s.empty() && s != "." && s != ".." && s.find('/') == std::string::npos; }

}  // namespace

const TracefsStatus& find_tracefs() { return source().status; }

Result<int> tracepoint_id(const std::string& category, const std::string& name) {
  const TracefsSource& src = source();
  if (!src.status.available) return Error{"tracefs: " + src.status.detail, ENOENT};
  if (!plain_name(category) || !plain_name(name))
    return Error{"not a tracepoint name: '" + category + "/" + name + "'", EINVAL};
  const std::string relative = "events/" + category + "/" + name + "/id";
  const std::string where = std::string(src.mounted_at ? src.mounted_at : "(detached tracefs)") + "/" + relative;

  int root = src.detached;
  if (src.mounted_at) {
    // Opened again for each read, never kept: a descriptor on the host's
    // tracefs would make its unmount fail with EBUSY.
    root = open_mounted(src.mounted_at);
    if (root < 0) return Error{std::string("tracefs is no longer mounted at ") + src.mounted_at, ENOENT};
  }
  int fd = openat(root, relative.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  int err = errno;
  if (src.mounted_at) close(root);
  if (fd < 0) return Error::from_errno("reading " + where, err);
  char text[32];
  ssize_t n = read(fd, text, sizeof text);
  err = errno;
  close(fd);
  if (n < 0) return Error::from_errno("reading " + where, err);
  int id = -1;
  auto [end, ec] = std::from_chars(text, text + n, id);
  if (ec != std::errc() || id < 0 || end == text || (end != text + n && *end != '\n'))
    return Error{"reading " + where + ": not a tracepoint id", EINVAL};
  return id;
}

}  // namespace mountleak

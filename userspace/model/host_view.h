// SPDX-License-Identifier: Apache-2.0
#pragma once

// How the host names a directory of a file system.
//
// mountinfo describes a bind mount by its file system (the device) and its
// root *within that file system*: a container's bind of the host's
// /var/lib/kubelet shows root "/var/lib/kubelet" only when that directory is
// on the file system mounted at "/". With the kubelet root on its own disk
// the root is "/", on a tmpfs /tmp it is "/<dir under /tmp>", so a root is
// never a host path by itself. HostView turns a place in a file system into
// the path an operator would type on the host, from the host's own mount
// table: the visible host mount of the same file system whose root contains
// the place, plus the rest of the path.
//
// Pure: no I/O; built from a copy of the host namespace's mounts.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/dev_id.h"
#include "model/mountinfo.h"

namespace mountleak {

// A directory inside one file system: its device and its path from that
// file system's root (mountinfo's root field, or below it).
struct FsPlace {
  DevId dev;
  std::string path;
  bool operator==(const FsPlace&) const = default;
};

// A host path, or why there is none.
struct HostPathAnswer {
  std::optional<std::string> path;
  std::string why_unknown;  // set exactly when path is empty
};

// True when `prefix` is `path` or one of its ancestor directories
// ("/a" is a prefix of "/a" and "/a/b", not of "/ab"; "/" of everything).
bool is_path_prefix(std::string_view prefix, std::string_view path);

// `base` joined with the part of `path` below `prefix` (which must be a
// path prefix of it): rebase("/x", "/a", "/a/b") == "/x/b".
std::string rebase(std::string_view base, std::string_view prefix, std::string_view path);

class HostView {
 public:
  explicit HostView(const std::vector<MountEntry>& host_mounts);

  // The host path that shows `place`: among the visible host mounts of the
  // same device whose root contains it, the most specific root (a bind of
  // the directory itself beats its whole file system), then the shortest
  // path. Empty, with the reason, when no visible host mount shows it (the
  // host unmounted it, or mounted only another part of the file system).
  HostPathAnswer path_of(const FsPlace& place) const;

  // Every host path that shows `place`, one per visible mount, sorted.
  std::vector<std::string> paths_of(const FsPlace& place) const;

  // The file system place a host path is in: the visible mount with the
  // longest mount point containing it. No symlink is resolved here.
  std::optional<FsPlace> place_of(std::string_view host_path) const;

  // Mounts left out because another mount covers them.
  size_t hidden_count() const { return hidden_; }

 private:
  std::vector<MountEntry> visible_;
  size_t hidden_ = 0;  // mounts left out because something covers them
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "findings/host_layout.h"

#include "sources/host_root_path.h"

namespace mountleak {

HostLayout HostLayout::build(const HostPaths& paths, const std::vector<MountEntry>& host_mounts) {
  HostView view(host_mounts);
  HostDirectory kubelet = resolve_host_directory(paths, view, paths.kubelet());
  if (!kubelet.note.empty()) kubelet.note = "kubelet root: " + kubelet.note;
  std::string root = paths.host_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty()) root = "/";
  return HostLayout{std::move(view), std::move(kubelet), root};
}

std::string HostLayout::paths_note() const {
  return host_root == "/" ? "as the host sees them" : "as the host sees them, without the " + host_root + " prefix";
}

namespace {

const MountEntry* parent_of(const std::vector<MountEntry>& mounts, const MountEntry& m) {
  for (const auto& p : mounts)
    if (p.mount_id == m.parent_id && p.mount_id != m.mount_id) return &p;
  return nullptr;
}

const MountEntry* mount_at_point(const std::vector<MountEntry>& mounts, const std::string& point) {
  const MountEntry* found = nullptr;
  for (const auto& m : mounts)
    if (m.mount_point == point) found = &m;  // the last one is on top
  return found;
}

bool same_mount(const MountEntry* a, const MountEntry* b) {
  return a && b && a->dev == b->dev && a->root == b->root;
}

}  // namespace

bool is_host_tree_copy(const std::vector<MountEntry>& ns_mounts, const std::vector<MountEntry>& host_mounts,
                       const MountEntry& mount) {
  bool own_root = !same_mount(mount_at_point(ns_mounts, "/"), mount_at_point(host_mounts, "/"));
  return !own_root && same_mount(&mount, mount_at_point(host_mounts, mount.mount_point));
}

std::optional<BindOrigin> bind_origin(const std::vector<MountEntry>& ns_mounts, const HostLayout& host,
                                      const std::vector<MountEntry>& host_mounts, const MountEntry& mount,
                                      const std::function<bool(DevId)>& tracked) {
  const MountEntry* a = parent_of(ns_mounts, mount);
  // Nested tracked mounts (an rbd volume on another) came with the same bind.
  size_t steps = 0;
  while (a && tracked(a->dev) && ++steps < ns_mounts.size()) a = parent_of(ns_mounts, *a);
  const MountEntry* bind = a ? a : &mount;
  if (a && is_host_tree_copy(ns_mounts, host_mounts, *a)) return std::nullopt;
  BindOrigin origin;
  origin.bind = bind;
  FsPlace place{bind->dev, bind->root};
  origin.source = host.view.path_of(place);
  origin.kubelet_root = host.kubelet.is(place);
  return origin;
}

}  // namespace mountleak

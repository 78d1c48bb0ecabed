// SPDX-License-Identifier: Apache-2.0
#include "findings/hostpath_risk.h"

#include <algorithm>
#include <set>

namespace mountleak {

namespace {

// The host paths the kubelet root really is: every visible host mount that
// shows it, and its canonical path. Not the configured spelling when that
// is a symlink: a bind of the symlink's directory shows a dangling link,
// not the kubelet's mounts.
std::vector<std::string> kubelet_host_paths(const HostLayout& layout) {
  std::vector<std::string> out;
  if (layout.kubelet.place) out = layout.view.paths_of(*layout.kubelet.place);
  if (!layout.kubelet.host_path.empty() &&
      std::find(out.begin(), out.end(), layout.kubelet.host_path) == out.end())
    out.push_back(layout.kubelet.host_path);
  return out;
}

// A directory below the kubelet root is one only in the kubelet root's own
// file system: a volume's file system shows up under the kubelet root's
// paths too (its global mount), and is not a directory that holds volumes.
bool in_kubelet_file_system(const HostLayout& layout, const FsPlace& place) {
  const auto& k = layout.kubelet.place;
  return k && k->dev == place.dev && is_path_prefix(k->path, place.path);
}

const MountEntry* parent_in(const std::vector<MountEntry>& mounts, const MountEntry& m) {
  for (const auto& p : mounts)
    if (p.mount_id == m.parent_id && p.mount_id != m.mount_id) return &p;
  return nullptr;
}

}  // namespace

bool keeps_private_copies(const MountEntry& bind) { return bind.shared_group == 0 && bind.master_group == 0; }

BoundDirectory bound_directory(const BindOrigin& origin, const HostLayout& layout) {
  BoundDirectory b;
  b.source = origin.source;
  b.kubelet_root = origin.kubelet_root;
  b.mountpoint = origin.bind->mount_point;
  b.propagation = origin.bind->propagation();
  if (origin.kubelet_root) {
    b.cover = Cover::kAncestor;
  } else if (origin.source.path) {
    std::string root;
    b.cover = covers_kubelet_root(*origin.source.path, kubelet_host_paths(layout), root);
    if (b.cover == Cover::kBelow && !in_kubelet_file_system(layout, FsPlace{origin.bind->dev, origin.bind->root}))
      b.cover = Cover::kNone;
  }
  return b;
}

std::optional<BoundDirectory> bind_behind_copy(const MountNamespace& ns, const MountNamespace* host,
                                               const HostLayout& layout, DevId dev,
                                               const std::function<bool(DevId)>& tracked) {
  static const std::vector<MountEntry> kNoMounts;
  const std::set<uint32_t> groups = host ? host_peer_groups(*host, dev) : std::set<uint32_t>{};
  for (const auto& m : ns.mounts) {
    if (m.dev != dev || follows_host(m, groups)) continue;
    if (auto origin = bind_origin(ns.mounts, layout, host ? host->mounts : kNoMounts, m, tracked))
      return bound_directory(*origin, layout);
  }
  return std::nullopt;
}

std::vector<BoundDirectory> kubelet_root_binds(const MountNamespace& ns, const std::vector<MountEntry>& host_mounts,
                                               const HostLayout& layout) {
  std::vector<std::pair<const MountEntry*, BoundDirectory>> found;
  std::set<uint64_t> found_ids;
  for (const auto& m : ns.mounts) {
    if (!keeps_private_copies(m) || is_host_tree_copy(ns.mounts, host_mounts, m)) continue;
    const FsPlace place{m.dev, m.root};
    BindOrigin origin{&m, layout.view.path_of(place), layout.kubelet.is(place)};
    BoundDirectory b = bound_directory(origin, layout);
    if (b.cover == Cover::kNone) continue;
    found.emplace_back(&m, std::move(b));
    found_ids.insert(m.mount_id);
  }
  // An rbind's submounts (the kubelet root's own disk below a bind of
  // /var/lib, the volumes below it) came with it: one risk, the top bind.
  std::vector<BoundDirectory> out;
  for (auto& [m, b] : found) {
    bool inside = false;
    size_t steps = 0;
    for (const MountEntry* a = parent_in(ns.mounts, *m); a && !inside && ++steps <= ns.mounts.size();
         a = parent_in(ns.mounts, *a))
      inside = found_ids.count(a->mount_id) > 0;
    if (!inside) out.push_back(std::move(b));
  }
  return out;
}

}  // namespace mountleak

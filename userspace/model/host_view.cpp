// SPDX-License-Identifier: Apache-2.0
#include "model/host_view.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace mountleak {

bool is_path_prefix(std::string_view prefix, std::string_view path) {
  if (prefix == "/") return !path.empty() && path.front() == '/';
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string rebase(std::string_view base, std::string_view prefix, std::string_view path) {
  std::string_view rest = prefix == "/" ? path : path.substr(prefix.size());
  if (rest.empty() || rest == "/") return std::string(base);
  if (base == "/") return std::string(rest);
  return std::string(base) + std::string(rest);
}

namespace {

// Proper ancestors of an absolute path, nearest first: "/a/b/c" -> "/a/b",
// "/a", "/".
std::vector<std::string_view> ancestors(std::string_view path) {
  std::vector<std::string_view> out;
  while (path.size() > 1) {
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos) break;
    path = slash == 0 ? std::string_view("/") : path.substr(0, slash);
    out.push_back(path);
  }
  return out;
}

std::string child_key(uint64_t parent_id, std::string_view mount_point) {
  std::string key = std::to_string(parent_id);
  key.push_back('\0');
  key.append(mount_point);
  return key;
}

}  // namespace

// A mount shows on the host when the path to it is open and nothing sits on
// its root. The path to it is open when no sibling is mounted on a directory
// above its mount point (the path would lead into the sibling) and the path
// to its parent is open, and, unless it is stacked on its parent's own mount
// point, nothing sits on its parent's root either. Parents come before
// children in mountinfo except after moves, so chains are walked upwards.
HostView::HostView(const std::vector<MountEntry>& host_mounts) {
  std::unordered_map<uint64_t, size_t> by_id;
  std::unordered_set<std::string> children;
  for (size_t i = 0; i < host_mounts.size(); ++i) {
    by_id.emplace(host_mounts[i].mount_id, i);
    children.insert(child_key(host_mounts[i].parent_id, host_mounts[i].mount_point));
  }
  auto root_covered = [&](const MountEntry& m) { return children.count(child_key(m.mount_id, m.mount_point)) > 0; };
  auto sibling_covered = [&](const MountEntry& m) {
    for (auto a : ancestors(m.mount_point))
      if (children.count(child_key(m.parent_id, a))) return true;
    return false;
  };
  enum State : char { kUnknown, kOpen, kClosed, kVisiting };
  std::vector<char> reachable(host_mounts.size(), kUnknown);
  auto open_path = [&](size_t start) {
    std::vector<size_t> chain;  // `start`, its parent, ... up to a known or missing parent
    for (size_t i = start;;) {
      if (reachable[i] != kUnknown) {
        if (reachable[i] != kVisiting) chain.push_back(i);  // known: the walk's anchor
        break;                                               // visiting: a cycle in a corrupt table
      }
      reachable[i] = kVisiting;
      chain.push_back(i);
      auto parent = by_id.find(host_mounts[i].parent_id);
      if (parent == by_id.end() || parent->second == i) break;
      i = parent->second;
    }
    // From the top of the chain down to `start`; a top without a known
    // parent hangs off the reader's root.
    for (size_t k = chain.size(); k-- > 0;) {
      if (reachable[chain[k]] == kOpen || reachable[chain[k]] == kClosed) continue;
      const MountEntry& m = host_mounts[chain[k]];
      bool open = !sibling_covered(m);
      if (k + 1 < chain.size()) {
        const MountEntry& parent = host_mounts[chain[k + 1]];
        open = open && reachable[chain[k + 1]] == kOpen &&
               (m.mount_point == parent.mount_point || !root_covered(parent));
      }
      reachable[chain[k]] = open ? kOpen : kClosed;
    }
    return reachable[start] == kOpen;
  };
  for (size_t i = 0; i < host_mounts.size(); ++i) {
    if (open_path(i) && !root_covered(host_mounts[i]))
      visible_.push_back(host_mounts[i]);
    else
      ++hidden_;
  }
}

HostPathAnswer HostView::path_of(const FsPlace& place) const {
  const MountEntry* best = nullptr;
  std::string best_path;
  size_t same_device = 0;
  for (const auto& m : visible_) {
    if (m.dev != place.dev) continue;
    ++same_device;
    if (!is_path_prefix(m.root, place.path)) continue;
    std::string path = rebase(m.mount_point, m.root, place.path);
    bool better = !best || m.root.size() > best->root.size() ||
                  (m.root.size() == best->root.size() && path.size() < best_path.size());
    if (better) {
      best = &m;
      best_path = std::move(path);
    }
  }
  if (best) return {best_path, ""};
  std::string what = place.path + " on device " + place.dev.str();
  if (same_device == 0)
    return {std::nullopt, "no host mount shows " + what + ": the host does not mount that device"};
  return {std::nullopt, "no host mount shows " + what + ": the host mounts other parts of that file system only"};
}

std::vector<std::string> HostView::paths_of(const FsPlace& place) const {
  std::vector<std::string> out;
  for (const auto& m : visible_)
    if (m.dev == place.dev && is_path_prefix(m.root, place.path))
      out.push_back(rebase(m.mount_point, m.root, place.path));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::optional<FsPlace> HostView::place_of(std::string_view host_path) const {
  const MountEntry* best = nullptr;
  for (const auto& m : visible_)
    if (is_path_prefix(m.mount_point, host_path) && (!best || m.mount_point.size() >= best->mount_point.size()))
      best = &m;  // the later of two at one point is on top
  if (!best) return std::nullopt;
  return FsPlace{best->dev, rebase(best->root, best->mount_point, host_path)};
}

}  // namespace mountleak

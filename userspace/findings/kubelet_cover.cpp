// SPDX-License-Identifier: Apache-2.0
#include "findings/kubelet_cover.h"

namespace mountleak {

std::optional<std::string> normalize_host_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    const size_t end = std::min(path.find('/', i), path.size());
    const std::string_view part = path.substr(i, end - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = end + 1;
  }
  std::string out;
  for (std::string_view part : parts) {
    out += '/';
    out += part;
  }
  return out.empty() ? "/" : out;
}

namespace {

bool is_at_or_above(const std::string& dir, const std::string& path) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 && path[dir.size()] == '/');
}

// `below` relative to the kubelet root ("pods", "plugins/kubernetes.io/csi"):
// does the kubelet mount other pods' volumes under it?
bool volumes_mounted_under(std::string_view below) {
  if (below == "pods" || below == "plugins") return true;
  constexpr std::string_view kPlugins = "plugins/kubernetes.io";
  return below.substr(0, kPlugins.size()) == kPlugins && (below.size() == kPlugins.size() || below[kPlugins.size()] == '/');
}

}  // namespace

std::string_view cover_name(Cover cover) {
  switch (cover) {
    case Cover::kAncestor: return "covers";
    case Cover::kBelow: return "below";
    case Cover::kNone: return "none";
  }
  return "none";
}

Cover covers_kubelet_root(const std::string& host_path, const std::vector<std::string>& kubelet_roots,
                          std::string& root) {
  for (const std::string& kubelet : kubelet_roots) {
    if (is_at_or_above(host_path, kubelet)) {
      root = kubelet;
      return Cover::kAncestor;
    }
  }
  for (const std::string& kubelet : kubelet_roots) {
    if (kubelet != "/" && is_at_or_above(kubelet, host_path) &&
        volumes_mounted_under(std::string_view(host_path).substr(kubelet.size() + 1))) {
      root = kubelet;
      return Cover::kBelow;
    }
    if (kubelet == "/" && host_path.size() > 1 && volumes_mounted_under(std::string_view(host_path).substr(1))) {
      root = kubelet;
      return Cover::kBelow;
    }
  }
  return Cover::kNone;
}

}  // namespace mountleak

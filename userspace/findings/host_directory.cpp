// SPDX-License-Identifier: Apache-2.0
#include "findings/host_directory.h"

#include <algorithm>

#include "sources/host_root_path.h"

namespace mountleak {

namespace {

std::string without_trailing_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

}  // namespace

const std::string* HostDirectory::containing(const std::string& path) const {
  for (const auto& s : spellings)
    if (!s.empty() && is_path_prefix(s, path)) return &s;
  return nullptr;
}

std::string pod_uid_of_volume_path(const HostDirectory& kubelet_root, const std::string& path) {
  const std::string* root = kubelet_root.containing(path);
  if (!root) return "";
  std::string prefix = (*root == "/" ? "" : *root) + "/pods/";
  if (path.compare(0, prefix.size(), prefix) != 0) return "";
  auto end = path.find('/', prefix.size());
  if (end == std::string::npos || path.compare(end, 9, "/volumes/") != 0) return "";
  return path.substr(prefix.size(), end - prefix.size());
}

HostDirectory resolve_host_directory(const HostPaths& paths, const HostView& host, const std::string& configured) {
  HostDirectory d;
  d.configured = configured;
  const std::string spelled = without_trailing_slash(without_host_root(paths, configured));
  auto canonical = resolve_host_path(paths, spelled);
  if (canonical) {
    d.host_path = *canonical;
  } else {
    d.host_path = spelled;
    d.note = canonical.error().message;
  }
  d.place = host.place_of(d.host_path);
  if (d.place) d.spellings = host.paths_of(*d.place);
  for (const auto& s : {d.host_path, spelled})
    if (std::find(d.spellings.begin(), d.spellings.end(), s) == d.spellings.end()) d.spellings.push_back(s);
  // Longest first, so a nested spelling wins over its parent.
  std::stable_sort(d.spellings.begin(), d.spellings.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return d;
}

}  // namespace mountleak

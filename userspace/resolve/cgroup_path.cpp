// SPDX-License-Identifier: Apache-2.0
#include "resolve/cgroup_path.h"

#include <algorithm>
#include <vector>

namespace mountleak {

namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Runtime IDs are hex (containerd, CRI-O, docker) but tests and other runtimes
// use other alphanumerics; anything with a separator in it is not an ID.
bool looks_like_id(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

// "/docker/<id>" is also what unrelated software could name a cgroup, so the
// bare form is only believed for what docker actually writes.
bool looks_like_docker_id(std::string_view s) {
  return s.size() >= 12 && s.size() <= 64 &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t pos = s.find(sep);
    if (pos == std::string_view::npos) {
      if (!s.empty()) out.push_back(s);
      return out;
    }
    if (pos > 0) out.push_back(s.substr(0, pos));
    s.remove_prefix(pos + 1);
  }
}

enum class Match { kNone, kContainer, kNotAContainer };

// A container cgroup name as the systemd driver ("<prefix><id>.scope") or
// CRI-O's cgroupfs driver ("<prefix><id>") writes it.
Match match_runtime_name(std::string_view name, CgroupContainer& out) {
  if (starts_with(name, "crio-conmon-")) return Match::kNotAContainer;
  struct Prefix {
    std::string_view prefix;
    std::string_view runtime;
  };
  static constexpr Prefix kPrefixes[] = {
      {"cri-containerd-", "containerd"}, {"crio-", "cri-o"}, {"docker-", "docker"}};
  for (const auto& p : kPrefixes) {
    if (!starts_with(name, p.prefix)) continue;
    std::string_view id = name.substr(p.prefix.size());
    if (!looks_like_id(id)) return Match::kNone;
    out.runtime = p.runtime;
    out.id = id;
    return Match::kContainer;
  }
  return Match::kNone;
}

// "kubepods-burstable-pod<uid_with_underscores>" (systemd escapes the dashes
// of the UID): sets pod_uid and qos.
bool match_pod_slice(std::string_view name, CgroupContainer& out) {
  auto parts = split(name, '-');
  if (parts.size() < 2 || !starts_with(parts.back(), "pod")) return false;
  if (std::find(parts.begin(), parts.end(), "kubepods") == parts.end()) return false;
  std::string uid(parts.back().substr(3));
  if (uid.empty()) return false;
  std::replace(uid.begin(), uid.end(), '_', '-');
  out.pod_uid = std::move(uid);
  out.qos = "guaranteed";
  for (auto p : parts)
    if (p == "burstable" || p == "besteffort") out.qos = p;
  return true;
}

}  // namespace

std::optional<CgroupContainer> container_from_cgroup_path(std::string_view path) {
  CgroupContainer found;
  // What the previous component told us about this one (cgroupfs driver).
  enum class After { kOther, kKubepods, kQos, kPod, kDocker } after = After::kOther;

  // From the root down: the first container cgroup is the one the host's
  // runtime made; anything below it (a container's own sub-cgroups, crun's
  // "container" leaf, docker-in-docker) belongs to it.
  for (std::string_view c : split(path, '/')) {
    After next = After::kOther;
    if (ends_with(c, ".slice")) {
      match_pod_slice(c.substr(0, c.size() - 6), found);
    } else if (ends_with(c, ".scope")) {
      switch (match_runtime_name(c.substr(0, c.size() - 6), found)) {
        case Match::kContainer: return found;
        case Match::kNotAContainer: return std::nullopt;
        case Match::kNone: break;
      }
    } else if (c == "kubepods") {
      next = After::kKubepods;
    } else if (after == After::kKubepods && (c == "burstable" || c == "besteffort")) {
      found.qos = c;
      next = After::kQos;
    } else if ((after == After::kKubepods || after == After::kQos) && starts_with(c, "pod") && c.size() > 3) {
      found.pod_uid = c.substr(3);
      if (found.qos.empty()) found.qos = "guaranteed";
      next = After::kPod;
    } else if (after == After::kPod) {
      switch (match_runtime_name(c, found)) {
        case Match::kContainer: return found;
        case Match::kNotAContainer: return std::nullopt;
        case Match::kNone: break;
      }
      // containerd and docker under the cgroupfs driver: the bare ID, which
      // does not say which runtime made it.
      if (looks_like_id(c)) {
        found.runtime.clear();
        found.id = c;
        return found;
      }
    } else if (c == "docker") {
      next = After::kDocker;
    } else if (after == After::kDocker && looks_like_docker_id(c)) {
      found.runtime = "docker";
      found.id = c;
      return found;
    }
    after = next;
  }
  return std::nullopt;
}

std::optional<CgroupContainer> container_from_cgroup(std::string_view text) {
  for (std::string_view line : split(text, '\n')) {
    // "hierarchy-ID:controller-list:cgroup-path"; the path may contain ':'.
    size_t first = line.find(':');
    if (first == std::string_view::npos) continue;
    size_t second = line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    if (auto found = container_from_cgroup_path(line.substr(second + 1))) return found;
  }
  return std::nullopt;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which container (and pod) a process belongs to, read from its cgroup path.
// This is the cheapest and most reliable attribution: the runtime puts every
// container process in a cgroup named after the container, and the kubelet
// puts that cgroup under one named after the pod.

#include <optional>
#include <string>
#include <string_view>

namespace mountleak {

struct CgroupContainer {
  // "containerd", "cri-o", "docker", or "" when the path does not say (the
  // cgroupfs driver names a container by its bare ID whatever the runtime).
  std::string runtime;
  std::string id;
  std::string pod_uid;  // with dashes; "" when not under a kubepods pod cgroup
  std::string qos;      // "guaranteed", "burstable", "besteffort" or ""
};

// Parses the full text of /proc/PID/cgroup (cgroup v1 "N:controllers:/path"
// lines, the v2 "0::/path" line, or both on hybrid hosts). Returns nothing
// when no line names a container, including for CRI-O's conmon
// ("crio-conmon-<id>"), which is a host process next to the container, not in
// it.
std::optional<CgroupContainer> container_from_cgroup(std::string_view proc_pid_cgroup_text);

// The same for one cgroup path ("/kubepods.slice/.../cri-containerd-<id>.scope").
std::optional<CgroupContainer> container_from_cgroup_path(std::string_view path);

}  // namespace mountleak

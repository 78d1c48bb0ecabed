// SPDX-License-Identifier: Apache-2.0
#include "config/host_paths.h"

#include <fnmatch.h>

namespace mountleak {

namespace {
constexpr const char* kDefaultKubelet = "/var/lib/kubelet";
constexpr const char* kDefaultContainerd = "/run/containerd/io.containerd.runtime.v2.task";
constexpr const char* kDefaultCrio = "/run/containers/storage/overlay-containers";
constexpr const char* kDefaultDocker = "/var/lib/docker";
constexpr const char* kDefaultPodLogs = "/var/log/pods";

std::string or_default(const HostPaths& p, const std::string& explicit_value, const char* dflt) {
  return explicit_value.empty() ? p.under_host(dflt) : explicit_value;
}
}  // namespace

std::string HostPaths::under_host(const std::string& absolute) const {
  std::string root = host_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root.empty() || root == "/") return absolute;
  return root + absolute;
}

std::string HostPaths::proc() const { return under_host("/proc"); }
std::string HostPaths::sys() const { return under_host("/sys"); }
std::string HostPaths::kubelet() const { return or_default(*this, kubelet_root, kDefaultKubelet); }
std::string HostPaths::containerd() const {
  return or_default(*this, containerd_state, kDefaultContainerd);
}
std::string HostPaths::crio() const { return or_default(*this, crio_state, kDefaultCrio); }
std::string HostPaths::docker() const { return or_default(*this, docker_root, kDefaultDocker); }
std::string HostPaths::pod_logs() const { return or_default(*this, pod_log_dir, kDefaultPodLogs); }

bool HostPaths::tracks_device(const std::string& kernel_name) const {
  for (const auto& glob : device_globs)
    if (fnmatch(glob.c_str(), kernel_name.c_str(), 0) == 0) return true;
  return false;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "config/host_paths.h"

#include <fnmatch.h>

#include <CLI/CLI.hpp>

#include "config/option_checks.h"

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

void add_host_path_options(CLI::App& app, HostPaths& paths) {
  app.add_option("--host-root", paths.host_root,
                 "Prefix for /proc, /sys and every default host path below "
                 "(a DaemonSet that mounts the host at /host passes /host)")
      ->check(absolute_path())
      ->capture_default_str();
  app.add_option("--kubelet-root", paths.kubelet_root,
                 "kubelet root directory, or a symlink or bind of it [default: <host-root>/var/lib/kubelet]")
      ->check(absolute_path());
  app.add_option("--containerd-state", paths.containerd_state,
                 "containerd task state, holding <namespace>/<id>/config.json "
                 "[default: <host-root>/run/containerd/io.containerd.runtime.v2.task]")
      ->check(absolute_path());
  app.add_option("--crio-state", paths.crio_state,
                 "CRI-O container state, holding <id>/userdata/config.json "
                 "[default: <host-root>/run/containers/storage/overlay-containers]")
      ->check(absolute_path());
  app.add_option("--docker-root", paths.docker_root,
                 "Docker root, holding containers/<id>/config.v2.json "
                 "[default: <host-root>/var/lib/docker]")
      ->check(absolute_path());
  app.add_option("--pod-log-dir", paths.pod_log_dir,
                 "Pod log directory, holding <namespace>_<pod>_<uid>/ "
                 "[default: <host-root>/var/log/pods]")
      ->check(absolute_path());
  app.add_option("--devices", paths.device_globs,
                 "Tracked block devices by kernel name, comma-separated globs (e.g. 'rbd*,loop*')")
      ->delimiter(',')
      ->check(non_empty("device glob"))
      ->capture_default_str();
}

}  // namespace mountleak

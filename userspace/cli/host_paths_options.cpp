// SPDX-License-Identifier: Apache-2.0
#include "cli/host_paths_options.h"

#include "cli/option_checks.h"

namespace mountleak {

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
                 "Docker root (dockerd's --data-root), holding containers/<id>/config.v2.json "
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

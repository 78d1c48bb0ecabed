// SPDX-License-Identifier: Apache-2.0
#pragma once

// Every host path mountleak reads. Tests and DaemonSets (which mount the host
// at /host) point these elsewhere; nothing else in the code base names a host
// path literally.

#include <string>
#include <vector>

namespace mountleak {

struct HostPaths {
  std::string host_root = "/";
  // Empty means "the default under host_root". Explicit values are used as
  // given, not prefixed with host_root.
  std::string kubelet_root;
  std::string containerd_state;
  std::string crio_state;
  std::string docker_root;
  std::string pod_log_dir;
  std::vector<std::string> device_globs = {"rbd*"};

  std::string proc() const;  // <host_root>/proc
  std::string sys() const;   // <host_root>/sys
  std::string kubelet() const;
  std::string containerd() const;
  std::string crio() const;
  std::string docker() const;
  std::string pod_logs() const;

  // host_root joined with an absolute path, without doubling slashes.
  std::string under_host(const std::string& absolute) const;

  // True when a block device's kernel name (e.g. "rbd4", "loop7") matches
  // one of device_globs.
  bool tracks_device(const std::string& kernel_name) const;
};

}  // namespace mountleak

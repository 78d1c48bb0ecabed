// SPDX-License-Identifier: Apache-2.0
#pragma once

// Facts about the running kernel that decide what mountleak can do,
// read from procfs and sysfs (under --host-root).

#include <optional>
#include <string>

#include "config/host_paths.h"

namespace mountleak {

struct KernelInfo {
  std::string release;          // uname -r
  bool btf = false;             // /sys/kernel/btf/vmlinux present: CO-RE works
  std::string lockdown;         // "none", "integrity", "confidentiality" or "unavailable"
  std::optional<int> bpf_jit;   // /proc/sys/net/core/bpf_jit_enable
  std::optional<int> unprivileged_bpf_disabled;
  std::string active_lsms;      // /sys/kernel/security/lsm, "" if unreadable
};

KernelInfo read_kernel_info(const HostPaths& paths);

}  // namespace mountleak

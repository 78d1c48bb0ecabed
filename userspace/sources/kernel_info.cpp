// SPDX-License-Identifier: Apache-2.0
#include "sources/kernel_info.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

namespace mountleak {

namespace {

std::optional<std::string> first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<int> int_file(const std::string& path) {
  auto line = first_line(path);
  if (!line) return std::nullopt;
  try {
    return std::stoi(*line);
  } catch (...) {
    return std::nullopt;
  }
}

// The lockdown file lists every mode with the active one in brackets.
std::string active_lockdown(const std::string& text) {
  auto open = text.find('[');
  auto close = text.find(']', open);
  if (open == std::string::npos || close == std::string::npos) return text;
  return text.substr(open + 1, close - open - 1);
}

}  // namespace

KernelInfo read_kernel_info(const HostPaths& paths) {
  KernelInfo info;
  utsname uts{};
  if (uname(&uts) == 0) info.release = uts.release;
  info.btf = access((paths.sys() + "/kernel/btf/vmlinux").c_str(), R_OK) == 0;
  auto lockdown = first_line(paths.sys() + "/kernel/security/lockdown");
  info.lockdown = lockdown ? active_lockdown(*lockdown) : "unavailable";
  info.bpf_jit = int_file(paths.proc() + "/sys/net/core/bpf_jit_enable");
  info.unprivileged_bpf_disabled = int_file(paths.proc() + "/sys/kernel/unprivileged_bpf_disabled");
  info.active_lsms = first_line(paths.sys() + "/kernel/security/lsm").value_or("");
  return info;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The kernel's own answer to "is there a function F": its BTF, read from
// sysfs as btf__load_vmlinux_btf() and btf__load_module_btf() read it (but
// under HostPaths::sys(), for a tracer in a container), and its symbol
// table. Reading needs no privilege: /sys/kernel/btf/* is world-readable.

#include <bpf/btf.h>

#include <memory>
#include <optional>
#include <string>

#include "sources/kernel_functions.h"

namespace mountleak {

class KernelBtf : public KernelFunctions {
 public:
  explicit KernelBtf(std::string sys_root = "/sys", std::string kallsyms = "/proc/kallsyms");
  ~KernelBtf() override;
  KernelBtf(const KernelBtf&) = delete;
  KernelBtf& operator=(const KernelBtf&) = delete;

  // vmlinux's BTF is parsed once (a few MB) and kept for this object's
  // life; a module's is read afresh each time (it can be loaded or
  // unloaded meanwhile).
  Result<Presence> btf_function(const std::string& module, const std::string& function) override;
  Result<Presence> kernel_symbol(const std::string& module, const std::string& function) override;

 private:
  Result<btf*> vmlinux();
  std::string sys_root_;
  std::string kallsyms_;
  btf* vmlinux_ = nullptr;
  std::optional<Error> vmlinux_error_;
};

}  // namespace mountleak

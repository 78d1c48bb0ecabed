// SPDX-License-Identifier: Apache-2.0
#pragma once

// What this kernel accepts, learned the only reliable way: load and attach
// a minimal program of each type (bpf/probe.bpf.c). Whether one program's
// kernel function is there is read from BTF instead, before any load
// (sources/kernel_functions.h). Answers are cached, so `probe`, tier
// selection and the ready event all agree.

#include <map>
#include <optional>
#include <string>

#include "sources/bpf/bpf_object.h"
#include "sources/kernel_tiers.h"

namespace mountleak {

class KernelProber : public FeatureSource {
 public:
  // sys_root: where sysfs is mounted (HostPaths::sys() from a container);
  // kallsyms: the kernel's symbols, for kprobes on functions BTF lacks.
  explicit KernelProber(BpfObjectSource source, std::string sys_root = "/sys",
                        std::string kallsyms = "/proc/kallsyms")
      : source_(std::move(source)), sys_root_(std::move(sys_root)), kallsyms_(std::move(kallsyms)) {}
  FeatureProbe probe(ProgramKind kind) override;
  // Asked each time, not cached: a module can be loaded while we run.
  bool module_loaded(const std::string& name) override;
  // Looks a fentry/fexit/kprobe program's function up in the BTF of
  // vmlinux or of its module (under sys_root), and for a module's asks
  // whether this kernel would bind it there (module_fexit.h).
  std::string program_unusable(const std::string& program) override;

 private:
  FeatureProbe run(ProgramKind kind);
  // Each program's section, read from the object once; empty when the
  // object cannot be opened (loading it will say why).
  const std::map<std::string, std::string>& sections();
  BpfObjectSource source_;
  std::string sys_root_;
  std::string kallsyms_;
  std::map<ProgramKind, FeatureProbe> cache_;
  std::optional<std::map<std::string, std::string>> sections_;
  // By program, for every program on a vmlinux function: found with one
  // read of vmlinux's BTF, which is not kept (a few MB for the life of a
  // trace), and cannot change while we run. A module's are asked afresh.
  std::optional<std::map<std::string, std::string>> vmlinux_unusable_;
};

}  // namespace mountleak

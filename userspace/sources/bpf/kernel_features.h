// SPDX-License-Identifier: Apache-2.0
#pragma once

// What this kernel accepts, learned the only reliable way: load and attach
// a minimal program of each type (bpf/probe.bpf.c). Answers are cached, so
// `probe`, tier selection and the ready event all agree.

#include <map>
#include <string>

#include "sources/bpf/bpf_object.h"
#include "sources/kernel_tiers.h"

namespace mountleak {

class KernelProber : public FeatureSource {
 public:
  // sys_root: where sysfs is mounted (HostPaths::sys() from a container).
  explicit KernelProber(BpfObjectSource source, std::string sys_root = "/sys")
      : source_(std::move(source)), sys_root_(std::move(sys_root)) {}
  FeatureProbe probe(ProgramKind kind) override;
  // Asked each time, not cached: a module can be loaded while we run.
  bool module_loaded(const std::string& name) override;
  // Looks the program's function up in its module's BTF and asks whether
  // this kernel would bind it there (module_fexit.h).
  std::string module_program_unusable(const std::string& program) override;

 private:
  FeatureProbe run(ProgramKind kind);
  BpfObjectSource source_;
  std::string sys_root_;
  std::map<ProgramKind, FeatureProbe> cache_;
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// What this kernel accepts, learned the only reliable way: load and attach
// a minimal program of each type (bpf/probe.bpf.c). Answers are cached, so
// `probe`, tier selection and the ready event all agree.

#include <map>

#include "sources/bpf/bpf_object.h"
#include "sources/kernel_tiers.h"

namespace mountleak {

class KernelProber : public FeatureSource {
 public:
  explicit KernelProber(BpfObjectSource source) : source_(std::move(source)) {}
  FeatureProbe probe(ProgramKind kind) override;

 private:
  FeatureProbe run(ProgramKind kind);
  BpfObjectSource source_;
  std::map<ProgramKind, FeatureProbe> cache_;
};

}  // namespace mountleak

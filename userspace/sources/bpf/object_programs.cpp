// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/object_programs.h"

namespace mountleak {

std::optional<ProgramKind> program_kind(const bpf_program* prog) {
  switch (bpf_program__type(prog)) {
    case BPF_PROG_TYPE_TRACEPOINT: return ProgramKind::kTracepoint;
    case BPF_PROG_TYPE_RAW_TRACEPOINT: return ProgramKind::kRawTracepoint;
    case BPF_PROG_TYPE_KPROBE: return ProgramKind::kKprobe;  // kretprobes too
    case BPF_PROG_TYPE_LSM: return ProgramKind::kLsm;
    case BPF_PROG_TYPE_TRACING:
      switch (bpf_program__expected_attach_type(prog)) {
        case BPF_TRACE_FENTRY: return ProgramKind::kFentry;
        case BPF_TRACE_FEXIT: return ProgramKind::kFexit;
        default: return std::nullopt;  // tp_btf, iterators: none of ours
      }
    default: return std::nullopt;
  }
}

std::vector<ObjectProgram> object_programs(const bpf_object* obj) {
  std::vector<ObjectProgram> out;
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    out.push_back({bpf_program__name(prog), bpf_program__section_name(prog), program_kind(prog)});
  }
  return out;
}

}  // namespace mountleak

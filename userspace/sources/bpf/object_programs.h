// SPDX-License-Identifier: Apache-2.0
#pragma once

// The programs an opened BPF object holds, each with the kind of section
// libbpf put it in: what the hook table (sources/kernel_tiers.h) is held
// to, and where a program's attach target is read from.

#include <bpf/libbpf.h>

#include <optional>
#include <string>
#include <vector>

#include "sources/kernel_tiers.h"

namespace mountleak {

struct ObjectProgram {
  std::string name;                 // the C function's name
  std::string section;              // as written: "?fexit/path_umount"
  std::optional<ProgramKind> kind;  // none: a type mountleak has no name for
};

// The kind libbpf gave `prog` from its section: its program type, and for
// tracing programs the attach type (fentry or fexit).
std::optional<ProgramKind> program_kind(const bpf_program* prog);

// Every program in `obj`, in the object's order.
std::vector<ObjectProgram> object_programs(const bpf_object* obj);

}  // namespace mountleak

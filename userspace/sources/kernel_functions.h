// SPDX-License-Identifier: Apache-2.0
#pragma once

// Whether the kernel function a fentry/fexit/kprobe program attaches to
// exists on this kernel, decided from BTF before anything is loaded: a
// function that is not there is a candidate passed over with a reason, not
// a verifier log to parse and a reload (sources/bpf/tracer.h keeps that as
// the last resort). The lookup is an interface: sources/bpf/kernel_btf.h
// reads the kernel's BTF, tests pretend.

#include <optional>
#include <string>
#include <string_view>

#include "sources/kernel_tiers.h"
#include "util/result.h"

namespace mountleak {

// A kernel function a program attaches to, as its section names it:
// "fexit/path_umount", "kretprobe/path_umount",
// "fexit.module/rbd:remove_store" (module_fexit.h), "kprobe/rbd:remove_store".
struct AttachTarget {
  ProgramKind kind;     // kFentry, kFexit or kKprobe (kretprobes too)
  std::string module;   // empty: vmlinux's own function
  std::string function;
};

// The function a program in `section` attaches to; none for sections that
// attach to no kernel function (tracepoints, LSM hooks, ...). A leading "?"
// (libbpf's "not loaded unless asked") is ignored.
std::optional<AttachTarget> attach_target_of_section(std::string_view section);

enum class Presence { kPresent, kAbsent };

class KernelFunctions {
 public:
  virtual ~KernelFunctions() = default;
  // Whether the BTF of `module` (empty: vmlinux) describes a function named
  // `function` among its own types. An error when that BTF cannot be read;
  // errno_value ENOENT when there is none.
  virtual Result<Presence> btf_function(const std::string& module, const std::string& function) = 0;
  // Whether `function` is in the kernel's symbol table (/proc/kallsyms):
  // `module`'s own when given, anyone's when empty.
  virtual Result<Presence> kernel_symbol(const std::string& module, const std::string& function) = 0;
};

// Why a program attached at `target` cannot load on this kernel, or empty
// when it can or the lookup cannot tell (loading then decides):
// - fentry/fexit need the function in BTF: vmlinux's for "fexit/F" (a
//   module's function is named with fexit.module/, never looked for in
//   every module as libbpf would), the module's own for fexit.module/.
// - kprobes need no BTF: a function BTF lacks (pahole leaves out some) is
//   looked for among the kernel's symbols before it is judged missing; a
//   module's ("kprobe/MOD:F") among that module's symbols only.
std::string attach_target_unusable(const AttachTarget& target, KernelFunctions& functions);

}  // namespace mountleak

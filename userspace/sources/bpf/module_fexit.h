// SPDX-License-Identifier: Apache-2.0
#pragma once

// fexit programs on a kernel module's own functions. libbpf (1.1, Debian
// 12's) looks a fentry/fexit target up in vmlinux's BTF before any
// module's, so "fexit/remove_store" attached to the PCI core's static
// remove_store, never rbd's. A program in the section
// "fexit.module/MODULE:FUNCTION" is resolved here, in MODULE's own BTF
// only, and loads (or is refused) on that alone.

#include <string>

#include "util/result.h"

namespace mountleak {

// Teaches libbpf the section; call before any object is opened. Idempotent.
void register_module_fexit_section();

// "rbd" for "fexit.module/rbd:remove_store"; empty for any other section.
std::string module_of_section(const std::string& section);

// Before Linux 6.3 the kernel bound a module's fexit program to the first
// kernel symbol of that name, vmlinux's before any module's, whatever BTF
// object named it. The reason a program in `section` cannot be trusted on
// this kernel (its function's name is also in vmlinux's symbol table), or
// empty when it can.
std::string shadowed_by_vmlinux(const std::string& section);

// The BTF object a loaded tracing program is attached in: "vmlinux", a
// module's name, or an error (kernels before 6.0 do not say).
Result<std::string> attach_btf_object(int prog_fd);

}  // namespace mountleak

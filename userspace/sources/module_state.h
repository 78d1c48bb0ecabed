// SPDX-License-Identifier: Apache-2.0
#pragma once

// Whether a kernel module is loaded, from sysfs: /sys/module/NAME/initstate
// says "coming" while its init runs, "live" once loaded, "going" while it
// is removed; the directory is gone after. A built-in module with
// parameters has the directory and no initstate: it is always there.
//
// Read by trace's module watch (sources/bpf/late_modules.h) once a second:
// one open and a read of a few bytes, nothing any other task pays for.
// The module:module_load tracepoint would tell sooner, but would put a
// program of ours on every module load for the tracer's life and still
// need this read to know when the module is live; a uevent socket would
// need a netlink socket open (and its buffer bounded) for the same answer.

#include <string>

namespace mountleak {

enum class ModuleState { kAbsent, kComing, kLive, kGoing, kUnknown };

// `sys_root`: where sysfs is mounted ("/sys", or the host's from a
// container). `name` must be a module name from mountleak's own table.
ModuleState module_state(const std::string& sys_root, const std::string& name);

}  // namespace mountleak

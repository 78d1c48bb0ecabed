// SPDX-License-Identifier: Apache-2.0
#pragma once

// Least privilege: which capabilities each command needs and why (the
// README's table says the same, measured by tests/privileged/
// capabilities_test.cpp), a check that names every missing one before any
// work starts, and the drop `trace` makes once its programs are attached.

#include <span>
#include <string>
#include <vector>

#include "util/result.h"

namespace mountleak {

struct CapabilityNeed {
  int capability;   // CAP_*
  const char* why;  // what it is for, said when it is missing
};

std::span<const CapabilityNeed> probe_needs();
std::span<const CapabilityNeed> scan_needs();
// scan's set: release reads the node as scan does, then enters a holder's
// mount namespace (setns: CAP_SYS_ADMIN, CAP_SYS_CHROOT) and unmounts there
// (CAP_SYS_ADMIN).
std::span<const CapabilityNeed> release_needs();
std::span<const CapabilityNeed> trace_needs();
// What a running `trace` keeps once attached: reading the node as scan does,
// without entering namespaces.
std::span<const CapabilityNeed> trace_keeps();
// With --release-leaks: the same set to start with (the reasons say what
// stays), and once attached trace_keeps() plus what release's child needs:
// setns(2) (CAP_SYS_ADMIN, CAP_SYS_CHROOT), chroot(2) into the holder's
// root (CAP_SYS_CHROOT) and umount2(2) (CAP_SYS_ADMIN).
std::span<const CapabilityNeed> trace_release_needs();
std::span<const CapabilityNeed> trace_release_keeps();

// "cap_sys_ptrace"; "cap_<number>" for one libcap does not know.
std::string capability_name(int capability);

// An error naming each capability of `needs` missing from the effective set,
// with what it is for, or ok. The kernel would take CAP_SYS_ADMIN in place of
// CAP_BPF or CAP_PERFMON, but every capability is asked for by its own name:
// that is the set `trace` can give back piece by piece.
Status check_capabilities(const std::string& command, std::span<const CapabilityNeed> needs);

// Keeps only `keep` in the effective, permitted, inheritable and bounding
// sets, clears the ambient set, and sets no_new_privs, so neither this
// process nor anything it runs can get the rest back. Needs CAP_SETPCAP (for
// the bounding set), which goes with the rest.
Status keep_only_capabilities(std::span<const CapabilityNeed> keep);

// What trace keeps beyond `keeps` while it watches for a kernel module to
// come or go (--watch-modules) (sources/bpf/late_modules.h): loading and attaching programs
// (CAP_BPF, CAP_PERFMON) and listing the kernel's BTF objects to find the
// module's (CAP_SYS_ADMIN: libbpf and the fexit binding check need it).
std::vector<CapabilityNeed> with_module_watch(std::span<const CapabilityNeed> keeps);

// The process's effective set by name, in capability order.
std::vector<std::string> effective_capabilities();

}  // namespace mountleak

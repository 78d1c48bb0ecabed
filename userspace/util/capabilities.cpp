// SPDX-License-Identifier: Apache-2.0
#include "util/capabilities.h"

#include <dirent.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace mountleak {

namespace {

// The reasons, each said once; the tables below pick from them.
constexpr const char* kWhyBpf = "loading BPF programs and creating their maps and ring buffer";
constexpr const char* kWhyPerfmon =
    "loading tracing programs and attaching them (perf events for tracepoints, fentry/fexit)";
constexpr const char* kWhyAdminTracing =
    "mounting tracefs when it is not mounted, and listing the kernel's BTF objects (a module's "
    "functions, where an fexit program was bound)";
constexpr const char* kWhyAdminSetns =
    "setns(2) into a mount namespace that only an nsfs bind mount keeps alive, to read its mount table, "
    "and statmount(2) of another namespace's mounts";
constexpr const char* kWhyChroot = "setns(2) into a mount namespace (the kernel asks for it beside CAP_SYS_ADMIN)";
constexpr const char* kWhyPtrace =
    "reading other processes' /proc/PID/ns/mnt, root, cwd, fd and fdinfo (every process that is not "
    "this one's uid with a subset of its capabilities)";
constexpr const char* kWhyDacSearch =
    "listing /proc/PID/fd of processes of other uids (theirs, mode 0500), to find their open descriptors";
constexpr const char* kWhyDacSearchTrace =
    "looking a busy path up inside the failing process's root through directories other users own";
constexpr const char* kWhySetpcap = "shrinking its own bounding set once attached (then given up with the rest)";

constexpr CapabilityNeed kProbe[] = {
    {CAP_BPF, kWhyBpf},
    {CAP_PERFMON, kWhyPerfmon},
    {CAP_SYS_ADMIN, kWhyAdminTracing},
};

constexpr CapabilityNeed kScan[] = {
    {CAP_SYS_PTRACE, kWhyPtrace},
    {CAP_DAC_READ_SEARCH, kWhyDacSearch},
    {CAP_SYS_ADMIN, kWhyAdminSetns},
    {CAP_SYS_CHROOT, kWhyChroot},
};

constexpr CapabilityNeed kRelease[] = {
    {CAP_SYS_PTRACE, kWhyPtrace},
    {CAP_DAC_READ_SEARCH, kWhyDacSearch},
    {CAP_SYS_ADMIN, "setns(2) into a leaking container's mount namespace, and umount2(2) there"},
    {CAP_SYS_CHROOT, "setns(2) into a mount namespace, and chroot(2) into the holder's root there, so its "
                     "mount points mean what its mount table says"},
};

constexpr CapabilityNeed kTrace[] = {
    {CAP_BPF, kWhyBpf},
    {CAP_PERFMON, kWhyPerfmon},
    {CAP_SYS_ADMIN, "mounting tracefs when it is not mounted, listing the kernel's BTF objects, and setns(2) "
                    "into namespaces only an nsfs bind mount keeps alive (all before it is given up)"},
    {CAP_SYS_CHROOT, kWhyChroot},
    {CAP_SYS_PTRACE, kWhyPtrace},
    {CAP_DAC_READ_SEARCH, kWhyDacSearchTrace},
    {CAP_SETPCAP, kWhySetpcap},
};

constexpr const char* kWhyAdminReleaseKept =
    "with --release-leaks, setns(2) into a leaking container's mount namespace and umount2(2) there (kept "
    "while trace runs)";
constexpr const char* kWhyChrootReleaseKept =
    "with --release-leaks, setns(2) into a leaking namespace and chroot(2) into its holder's root (kept while "
    "trace runs)";

constexpr CapabilityNeed kTraceRelease[] = {
    {CAP_BPF, kWhyBpf},
    {CAP_PERFMON, kWhyPerfmon},
    {CAP_SYS_ADMIN, "mounting tracefs when it is not mounted, listing the kernel's BTF objects, and, with "
                    "--release-leaks, setns(2) into a leaking container's mount namespace and umount2(2) there "
                    "(kept while trace runs)"},
    {CAP_SYS_CHROOT, kWhyChrootReleaseKept},
    {CAP_SYS_PTRACE, kWhyPtrace},
    {CAP_DAC_READ_SEARCH, kWhyDacSearchTrace},
    {CAP_SETPCAP, kWhySetpcap},
};

constexpr CapabilityNeed kTraceReleaseKeeps[] = {
    {CAP_SYS_PTRACE, kWhyPtrace},
    {CAP_DAC_READ_SEARCH, kWhyDacSearchTrace},
    {CAP_SYS_ADMIN, kWhyAdminReleaseKept},
    {CAP_SYS_CHROOT, kWhyChrootReleaseKept},
};

constexpr CapabilityNeed kTraceKeeps[] = {
    {CAP_SYS_PTRACE, kWhyPtrace},
    {CAP_DAC_READ_SEARCH, kWhyDacSearchTrace},
};

struct CapFree {
  void operator()(void* p) const { cap_free(p); }
};
using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, CapFree>;

bool kept(std::span<const CapabilityNeed> keep, int capability) {
  return std::any_of(keep.begin(), keep.end(), [&](const CapabilityNeed& n) { return n.capability == capability; });
}

// Capabilities belong to a thread, not a process: a drop made while another
// thread runs would leave that one with everything.
size_t thread_count() {
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return 0;
  size_t n = 0;
  while (const dirent* e = readdir(dir))
    if (e->d_name[0] != '.') ++n;
  closedir(dir);
  return n;
}

}  // namespace

std::span<const CapabilityNeed> probe_needs() { return kProbe; }
std::span<const CapabilityNeed> scan_needs() { return kScan; }
std::span<const CapabilityNeed> release_needs() { return kRelease; }
std::span<const CapabilityNeed> trace_needs() { return kTrace; }
std::span<const CapabilityNeed> trace_keeps() { return kTraceKeeps; }
std::span<const CapabilityNeed> trace_release_needs() { return kTraceRelease; }
std::span<const CapabilityNeed> trace_release_keeps() { return kTraceReleaseKeeps; }

std::vector<CapabilityNeed> with_module_watch(std::span<const CapabilityNeed> keeps) {
  static constexpr CapabilityNeed kWatch[] = {
      {CAP_BPF, "loading the programs of a hook whose kernel module came after trace started (kept while "
                "trace watches for modules)"},
      {CAP_PERFMON, "attaching them (kept while trace watches for modules)"},
      {CAP_SYS_ADMIN, "finding a module's BTF object among the kernel's (kept while trace watches for modules)"},
  };
  std::vector<CapabilityNeed> out(keeps.begin(), keeps.end());
  for (const CapabilityNeed& need : kWatch)
    if (!kept(out, need.capability)) out.push_back(need);
  return out;
}

std::string capability_name(int capability) {
  std::unique_ptr<char, CapFree> name(cap_to_name(static_cast<cap_value_t>(capability)));
  return name ? std::string(name.get()) : "cap_" + std::to_string(capability);
}

Status check_capabilities(const std::string& command, std::span<const CapabilityNeed> needs) {
  CapPtr caps(cap_get_proc());
  if (!caps) return Error::from_errno("reading this process's capabilities");
  std::string missing;
  std::string names;
  for (const auto& need : needs) {
    cap_flag_value_t on = CAP_CLEAR;
    cap_get_flag(caps.get(), static_cast<cap_value_t>(need.capability), CAP_EFFECTIVE, &on);
    if (on == CAP_SET) continue;
    std::string name = capability_name(need.capability);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
    names += (names.empty() ? "" : ", ") + name;
    missing += "\n  " + name + " for " + need.why;
  }
  if (missing.empty()) return ok_status();
  return Error{command + ": missing capabilities " + names + " (not in this process's effective set):" + missing +
                   "\nRun it as root, or grant them (a DaemonSet: securityContext.capabilities.add); the "
                   "README's table lists what each command needs.",
               EPERM};
}

Status keep_only_capabilities(std::span<const CapabilityNeed> keep) {
  if (const size_t threads = thread_count(); threads != 1)
    return Error{"dropping capabilities: " + std::to_string(threads) +
                     " threads are running, and a drop would reach only this one",
                 EBUSY};
  // The bounding set first: shrinking it takes CAP_SETPCAP, dropped below.
  for (cap_value_t c = 0; c < cap_max_bits(); ++c) {
    if (kept(keep, c) || cap_get_bound(c) != 1) continue;
    if (cap_drop_bound(c) != 0)
      return Error::from_errno("dropping " + capability_name(c) + " from the bounding set (needs CAP_SETPCAP)");
  }
  if (cap_reset_ambient() != 0) return Error::from_errno("clearing the ambient capability set");
  CapPtr caps(cap_init());  // everything clear, inheritable included
  if (!caps) return Error::from_errno("allocating a capability set");
  for (const auto& need : keep) {
    const cap_value_t c = static_cast<cap_value_t>(need.capability);
    if (cap_set_flag(caps.get(), CAP_EFFECTIVE, 1, &c, CAP_SET) != 0 ||
        cap_set_flag(caps.get(), CAP_PERMITTED, 1, &c, CAP_SET) != 0)
      return Error::from_errno("keeping " + capability_name(c));
  }
  if (cap_set_proc(caps.get()) != 0)
    return Error::from_errno("setting the capability sets to " + std::to_string(keep.size()) + " kept");
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return Error::from_errno("setting no_new_privs");
  return ok_status();
}

std::vector<std::string> effective_capabilities() {
  std::vector<std::string> out;
  CapPtr caps(cap_get_proc());
  if (!caps) return out;
  for (cap_value_t c = 0; c < cap_max_bits(); ++c) {
    cap_flag_value_t on = CAP_CLEAR;
    if (cap_get_flag(caps.get(), c, CAP_EFFECTIVE, &on) == 0 && on == CAP_SET) out.push_back(capability_name(c));
  }
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/attach.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sources/bpf/tracefs.h"
#include "sources/kernel_functions.h"
#include "util/errno_text.h"

namespace mountleak {

namespace {

constexpr const char* kKprobePmuType = "/sys/bus/event_source/devices/kprobe/type";

// "tp/syscalls/sys_enter_mount" or "tracepoint/syscalls/sys_enter_mount".
bool split_tracepoint_section(const std::string& section, std::string& category, std::string& name) {
  std::string rest;
  for (const char* prefix : {"tp/", "tracepoint/"})
    if (section.rfind(prefix, 0) == 0) rest = section.substr(std::string(prefix).size());
  auto slash = rest.find('/');
  if (slash == std::string::npos) return false;
  category = rest.substr(0, slash);
  name = rest.substr(slash + 1);
  return true;
}

bool is_kprobe_section(const std::string& section) {
  return section.rfind("kprobe/", 0) == 0 || section.rfind("kretprobe/", 0) == 0;
}

Error libbpf_failure(int err) { return Error{"", err ? err : EINVAL}; }

Result<bpf_link*> attach_tracepoint(bpf_program* prog) {
  const std::string section = bpf_program__section_name(prog);
  std::string category, name;
  if (!split_tracepoint_section(section, category, name))
    return Error{"section " + section + " names no tracepoint", EINVAL};
  auto id = tracepoint_id(category, name);
  if (!id) return Error{id.error().message, id.error().errno_value ? id.error().errno_value : ENOENT};
  // One event, on CPU 0 and every task: a program attached to a tracepoint
  // event hangs on the tracepoint itself and runs wherever it fires.
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof attr;
  attr.config = static_cast<__u64>(*id);
  int pfd = static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC));
  if (pfd < 0)
    return Error{"perf_event_open of tracepoint " + category + "/" + name + " (id " + std::to_string(*id) + ")", errno};
  // The link owns the perf event from here and closes it when destroyed.
  bpf_link* link = bpf_program__attach_perf_event(prog, pfd);
  if (!link) {
    int err = errno;
    close(pfd);
    return libbpf_failure(err);
  }
  return link;
}

// A kprobe on a module's function, "kprobe/MOD:F": libbpf's own attach
// reads the function name up to the first character outside [A-Za-z0-9_.]
// and would probe "MOD". The kprobe PMU takes the kernel's "MOD:F" as it is
// and looks F up among MOD's symbols only.
Result<bpf_link*> attach_module_kprobe(bpf_program* prog, const AttachTarget& target) {
  const std::string section = bpf_program__section_name(prog);
  LIBBPF_OPTS(bpf_kprobe_opts, opts, .retprobe = section.rfind("kretprobe/", 0) == 0);
  const std::string symbol = target.module + ":" + target.function;
  bpf_link* link = bpf_program__attach_kprobe_opts(prog, symbol.c_str(), &opts);
  if (!link) return Error{std::string(opts.retprobe ? "kretprobe" : "kprobe") + " on " + symbol, errno ? errno : EINVAL};
  return link;
}

}  // namespace

Result<bpf_link*> attach_program(bpf_program* prog) {
  if (bpf_program__type(prog) == BPF_PROG_TYPE_TRACEPOINT) return attach_tracepoint(prog);
  if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE && is_kprobe_section(bpf_program__section_name(prog)) &&
      access(kKprobePmuType, F_OK) != 0)
    return Error{std::string("no kprobe PMU (") + kKprobePmuType + ")", ENOENT};
  if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE)
    if (auto target = attach_target_of_section(bpf_program__section_name(prog)); target && !target->module.empty())
      return attach_module_kprobe(prog, *target);
  bpf_link* link = bpf_program__attach(prog);
  if (!link) return libbpf_failure(errno);
  return link;
}

std::string attach_failure_text(const Error& error) {
  const std::string text = errno_text(error.errno_value);
  return error.message.empty() ? text : text + ": " + error.message;
}

}  // namespace mountleak

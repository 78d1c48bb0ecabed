// SPDX-License-Identifier: Apache-2.0
#include "findings/attribution.h"

#include "resolve/cgroup_path.h"
#include "resolve/shim_ancestry.h"

#include <cerrno>

namespace mountleak {

Attributor::Attributor(const HostPaths& paths, CmdlinePolicy cmdline)
    : paths_(paths), cmdline_(cmdline), metadata_(paths), processes_(paths.proc()) {}

void Attributor::clear() {
  processes_.clear();
  metadata_ = MetadataStore(paths_);
}

const ProcessInfo* Attributor::process(int pid) { return processes_.process(pid); }

// No runtime's files know the container: when a shim on the host runs
// exactly it (its own id, not a pod's sandbox), that shim is what keeps it
// alive, and what the operator has to stop.
void Attributor::mark_if_orphaned(int pid, std::optional<ShimContainer>& shim, Attribution& out) {
  if (!shim) shim = shim_of(pid);
  if (!shim || shim->id != out.container->id || shim->id_may_be_sandbox) return;
  ContainerRef& c = *out.container;
  if (c.runtime.empty()) c.runtime = shim->runtime;
  c.unknown_to_runtime = true;
  c.shim_pid = shim->shim_pid;
  c.init_pid = shim->init_pid;
  if (out.how == "cgroup") out.how = "cgroup and shim ancestry";
  out.note = c.runtime + " has no record of this container, yet its shim (pid " + std::to_string(c.shim_pid) +
             ") runs it: " + out.note;
}

std::optional<ShimContainer> Attributor::shim_of(int pid) {
  AncestorLookup lookup = [this](int p) -> std::optional<AncestorView> {
    const ProcessInfo* ancestor = process(p);
    if (!ancestor) return std::nullopt;
    auto mntns = host_mntns_ == 0 ? Result<uint64_t>(0) : processes_.mntns(p);
    bool on_host = host_mntns_ == 0 || (mntns && *mntns == host_mntns_);
    return AncestorView{ancestor->ppid, ancestor->cmdline, on_host};
  };
  return container_from_ancestry(pid, lookup);
}

void Attributor::attribute_container(int pid, Attribution& out) {
  const ProcessInfo* info = process(pid);
  if (!info) return;
  std::string runtime, id, pod_uid;
  std::optional<ShimContainer> from_shim;
  if (auto from_cgroup = container_from_cgroup(info->cgroup)) {
    runtime = from_cgroup->runtime;
    id = from_cgroup->id;
    pod_uid = from_cgroup->pod_uid;
    out.how = "cgroup";
  } else {
    from_shim = shim_of(pid);
    if (!from_shim) return;
    runtime = from_shim->runtime;
    id = from_shim->id;
    // A pod's shim is named after its sandbox: the container is the task
    // whose first process is the shim's child on the walk up.
    if (from_shim->id_may_be_sandbox) {
      if (auto task = metadata_.containerd_task_with_init(from_shim->init_pid)) id = *task;
    }
    out.how = "shim ancestry";
  }
  out.container = ContainerRef{runtime, id, ""};

  auto meta = metadata_.find(runtime, id);
  if (meta) {
    out.container->runtime = meta->runtime;
    out.container->name = meta->name;
    out.pod = meta->pod;
    out.container_mounts = meta->mounts;
  } else {
    out.note = meta.error().message;
    if (meta.error().errno_value == ENOENT) mark_if_orphaned(pid, from_shim, out);
  }
  // Without metadata, the pod's log directory still names the pod.
  if (!out.pod && !pod_uid.empty()) {
    if (auto dir = find_pod_log_dir(paths_, pod_uid)) {
      auto slash = dir->rfind('/');
      out.pod = pod_from_log_dir_name(slash == std::string::npos ? *dir : dir->substr(slash + 1));
    }
    if (!out.pod) out.pod = PodRef{"", "", pod_uid};
  }
}

Attribution Attributor::attribute(const std::vector<int>& pids) {
  Attribution out;
  for (int pid : pids) {
    const ProcessInfo* info = process(pid);
    // Kernel threads share the host's namespace but hold nothing of it.
    if (info && info->kernel_thread) continue;
    out.pids.push_back(pid);
    if (!info) continue;
    if (out.processes.size() < kMaxProcesses)
      out.processes.push_back(ProcessRef{
          pid, info->comm, cmdline_ == CmdlinePolicy::kFull ? info->cmdline : redact_cmdline(info->cmdline)});
    if (!out.container) attribute_container(pid, out);
  }
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "findings/attribution.h"

#include "resolve/cgroup_path.h"
#include "resolve/shim_ancestry.h"

namespace mountleak {

Attributor::Attributor(const HostPaths& paths, CmdlinePolicy cmdline)
    : paths_(paths), cmdline_(cmdline), metadata_(paths) {}

void Attributor::clear() {
  processes_.clear();
  metadata_ = MetadataStore(paths_);
}

const ProcessInfo* Attributor::process(int pid) {
  auto it = processes_.find(pid);
  // A pid is reused as soon as its process is reaped: what was read about
  // it counts only while the process that has it started when that one did.
  // Entries are overwritten in place, never erased here: a caller may hold
  // a pointer to one while it asks about an ancestor.
  if (it != processes_.end()) {
    auto now = read_proc_stat(paths_.proc(), pid);
    if (now && now->start_time == it->second.start_time) return &it->second;
  }
  auto info = read_process_info(paths_.proc(), pid);
  if (!info) return nullptr;  // gone: its pid may come back, so nothing new is kept
  if (it != processes_.end()) {
    it->second = std::move(*info);
    return &it->second;
  }
  return &processes_.emplace(pid, std::move(*info)).first->second;
}

void Attributor::attribute_container(int pid, Attribution& out) {
  const ProcessInfo* info = process(pid);
  if (!info) return;
  std::string runtime, id, pod_uid;
  if (auto from_cgroup = container_from_cgroup(info->cgroup)) {
    runtime = from_cgroup->runtime;
    id = from_cgroup->id;
    pod_uid = from_cgroup->pod_uid;
    out.how = "cgroup";
  } else {
    AncestorLookup lookup = [this](int p) -> std::optional<AncestorView> {
      const ProcessInfo* ancestor = process(p);
      if (!ancestor) return std::nullopt;
      auto mntns = host_mntns_ == 0 ? Result<uint64_t>(0) : ns_inode(paths_.proc(), p, "mnt");
      bool on_host = host_mntns_ == 0 || (mntns && *mntns == host_mntns_);
      return AncestorView{ancestor->ppid, ancestor->cmdline, on_host};
    };
    auto from_shim = container_from_ancestry(pid, lookup);
    if (!from_shim) return;
    runtime = from_shim->runtime;
    id = from_shim->id;
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
  out.pids = pids;
  for (int pid : pids) {
    const ProcessInfo* info = process(pid);
    if (!info) continue;
    if (out.processes.size() < kMaxProcesses)
      out.processes.push_back(ProcessRef{
          pid, info->comm, cmdline_ == CmdlinePolicy::kFull ? info->cmdline : redact_cmdline(info->cmdline)});
    if (!out.container) attribute_container(pid, out);
  }
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// From processes to the container and pod they run in: cgroup path first,
// then an ancestor shim's command line, then the runtime's own metadata
// files for names, pod and the mounts the container was created with.
// Fields that cannot be known stay empty; nothing is guessed.

#include <optional>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "findings/cmdline_redaction.h"
#include "model/process.h"
#include "resolve/runtime_metadata.h"
#include "resolve/shim_ancestry.h"
#include "sources/process_cache.h"

namespace mountleak {

struct ProcessRef {
  int pid = 0;
  std::string comm;
  std::vector<std::string> cmdline;
};

struct ContainerRef {
  std::string runtime;  // "containerd", "cri-o", "docker"; "" when only the ID is known
  std::string id;
  std::string name;
  // No runtime's files have a record of the container, yet a shim on the
  // host still runs it: left behind by a daemon that restarted without
  // restoring it (the field report's dockerd and --live-restore). Restarting
  // a pod does not stop it; stopping the shim's container does. shim_pid and
  // init_pid (the container's first process) are set only then.
  bool unknown_to_runtime = false;
  int shim_pid = 0;
  int init_pid = 0;
};

struct Attribution {
  std::vector<int> pids;
  std::vector<ProcessRef> processes;  // at most kMaxProcesses of pids
  std::optional<ContainerRef> container;
  std::optional<PodRef> pod;
  std::vector<OciMount> container_mounts;  // as the runtime created them
  std::string how;    // "cgroup", "shim ancestry" or ""
  std::string note;   // e.g. why metadata is missing
};

// Who a set of processes are: the Attributor reads /proc and the runtimes'
// files; `replay` answers from what a log recorded.
class AttributionSource {
 public:
  virtual ~AttributionSource() = default;
  virtual Attribution attribute(const std::vector<int>& pids) = 0;
  // Nothing for a process that is gone (or was not recorded).
  virtual const ProcessInfo* process(int pid) = 0;
};

class Attributor : public AttributionSource {
 public:
  static constexpr size_t kMaxProcesses = 16;

  // Holders' command lines are redacted (cmdline_redaction.h) unless the
  // policy says full; shim ancestry always reads them whole.
  explicit Attributor(const HostPaths& paths, CmdlinePolicy cmdline = CmdlinePolicy::kRedacted);

  // The host's mount namespace: a shim counts only when it runs there
  // (0: not known yet, every shim counts).
  void set_host_mntns(uint64_t inode) { host_mntns_ = inode; }

  // The processes of one mount namespace: the first that belongs to a
  // container names it (a namespace is a container's; other pids in it are
  // its children). Kernel threads are left out of the answer's pids.
  Attribution attribute(const std::vector<int>& pids) override;

  // Lazily read, and cached for as long as the pid's process is the same
  // (its start time); nothing for a process that is gone.
  const ProcessInfo* process(int pid) override;

  // Forget cached processes (their pids may be reused) and metadata.
  void clear();

  MetadataStore& metadata() { return metadata_; }

 private:
  void attribute_container(int pid, Attribution& out);
  std::optional<ShimContainer> shim_of(int pid);
  void mark_if_orphaned(int pid, std::optional<ShimContainer>& shim, Attribution& out);

  HostPaths paths_;
  CmdlinePolicy cmdline_;
  uint64_t host_mntns_ = 0;
  MetadataStore metadata_;
  ProcessCache processes_;
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Attribution when the cgroup path says nothing (cgroup namespaces, custom
// cgroup parents, old docker): every container process descends from the
// runtime's per-container (or per-pod) shim, whose command line names it.
// This is step 4 of the field report, "ps -ef up to docker-containerd-shim".

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mountleak {

// What the walk needs to know about one process. Views into the caller's own
// process table, so no copies are made per step.
struct AncestorView {
  int ppid = 0;
  std::span<const std::string> cmdline;  // empty for kernel threads and zombies
  // False for a process outside the host's mount namespace: anything in a
  // container can call itself containerd-shim, so only a shim running on the
  // host names a container.
  bool on_host = true;
};

// Returns nothing for a pid that is not (or no longer) known.
using AncestorLookup = std::function<std::optional<AncestorView>(int pid)>;

struct ShimContainer {
  std::string runtime;  // "containerd", "docker", "cri-o" or "podman"
  std::string id;
  int shim_pid = 0;
  // The shim's child on the walk up: the container's first process (its
  // init, whose death ends the container), or the holder itself.
  int init_pid = 0;
  // containerd's v2 shim under the CRI serves a whole pod and is named after
  // the pod sandbox, so `id` may be the sandbox's, not this container's.
  bool id_may_be_sandbox = false;
};

// Walks from pid's parent upwards (pid itself is the holder, and a shim is
// never inside its container) until a shim on the host, pid 1, an unknown
// pid or a loop. A lookalike shim inside a container is walked past.
std::optional<ShimContainer> container_from_ancestry(int pid, const AncestorLookup& lookup);

// What the process table holds for one pid, for callers (and tests) without
// a table of their own.
struct AncestorInfo {
  int ppid = 0;
  std::vector<std::string> cmdline;
  bool on_host = true;
};
std::optional<ShimContainer> container_from_ancestry(int pid, const std::unordered_map<int, AncestorInfo>& processes);

// The container a shim or conmon serves, from its command line; nothing when
// it is not one.
std::optional<ShimContainer> container_from_shim_cmdline(std::span<const std::string> cmdline);

}  // namespace mountleak

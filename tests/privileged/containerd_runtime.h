// SPDX-License-Identifier: Apache-2.0
#pragma once

// A containerd of the test's own (Debian's containerd 1.6 and runc), to run
// the DaemonSet's container as a real runtime would: its root, state,
// socket, runc root and FIFOs all under one temp dir, never the system's
// /run/containerd or /var/lib/containerd.
//
// containerd 1.6 puts shim sockets in /run/containerd/s whatever its
// configuration says, so the daemon runs in a mount namespace of its own, a
// slave of the test's (the fixture's mounts and unmounts reach it), with a
// tmpfs on /run that nothing else sees; every shim and container it starts
// is in that namespace too. It is a child subreaper, so the shims stay its
// children and die with it. Its containers go in one containerd namespace
// ("mountleak-test", or "k8s.io" as the CRI plugin's) and below one cgroup
// parent of the test's own.
//
// stop() (also run by the destructor) kills and deletes every task and
// container, stops the daemon (SIGTERM, then SIGKILL), kills any shim left
// that serves this daemon's socket, removes the cgroups the containers were
// given (the whole tree below the parent), unmounts anything left under the
// dir and removes the dir. A run killed outright leaves its shims and
// containers (containerd itself dies with the test): start() sweeps those
// of seed nodes that are gone, by their shims' sockets and by cgroup
// parents named "<seed>-<word>" (the seed node's unique_name() and a word).

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime_support.h"
#include "util/result.h"

namespace mountleak::testing {

using CtrResult = CommandResult;

class ContainerdRuntime {
 public:
  static constexpr const char* kTestNamespace = "mountleak-test";
  // Where the CRI plugin puts every container it makes for kubelet.
  static constexpr const char* kCriNamespace = "k8s.io";

  // Starts containerd under `dir` (which must not exist yet) and waits for
  // its socket. `cgroup_parent` names the cgroup every container is put
  // below (one directory in each hierarchy, removed by stop()); it is
  // "<seed unique_name>-<word>", so the stale sweep can tell whose it is.
  // Containers are made in containerd namespace `ctr_namespace`.
  static Result<std::unique_ptr<ContainerdRuntime>> start(const std::string& dir, const std::string& cgroup_parent,
                                                          const std::string& ctr_namespace = kTestNamespace);

  ~ContainerdRuntime();
  ContainerdRuntime(const ContainerdRuntime&) = delete;
  ContainerdRuntime& operator=(const ContainerdRuntime&) = delete;

  const std::string& dir() const { return dir_; }
  // What start() removed that runs killed outright had left: shims of
  // gone seed nodes and their "<seed>-agent" cgroups.
  const std::vector<std::string>& swept_stale() const { return swept_stale_; }
  const std::string& address() const { return address_; }
  // Where containerd keeps each task's bundle (<ns>/<id>/config.json): what
  // mountleak's --containerd-state names on a node.
  std::string task_state_dir() const { return dir_ + "/state/io.containerd.runtime.v2.task"; }
  const std::string& cgroup_parent() const { return cgroup_parent_; }

  // `ctr run --rm --rootfs ROOTFS ID ARGS...` with `run_options` before
  // the rootfs; waits for it (killing ctr after `timeout`).
  CtrResult run(const std::string& id, const std::string& rootfs, const std::vector<std::string>& run_options,
                const std::vector<std::string>& command, std::chrono::seconds timeout);
  // The same, started in the background with stdout and stderr going to
  // files; returns ctr's pid. wait_for() reaps it.
  Result<pid_t> start_run(const std::string& id, const std::string& rootfs,
                          const std::vector<std::string>& run_options, const std::vector<std::string>& command,
                          const std::string& out_path, const std::string& err_path);
  // Exit status of a start_run(), or -1 if it had to be killed at the deadline.
  int wait_for(pid_t ctr, std::chrono::seconds timeout);
  // Whether a start_run() has ended (reaped; its status in `status`).
  bool ended(pid_t ctr, int& status);

  // `ctr run --detach --null-io --rootfs ROOTFS ID ARGS...` with
  // `run_options` before the rootfs and the container's cgroup at
  // /<cgroup_parent>/<cgroup> (a path below the parent, e.g.
  // "kubepods/besteffort/pod<uid>/<id>"). Returns once the task runs, with
  // its first process's pid; stop() kills and deletes it.
  Result<pid_t> run_detached(const std::string& id, const std::string& rootfs, const std::string& cgroup,
                             const std::vector<std::string>& run_options, const std::vector<std::string>& command);

  // Any ctr subcommand against this daemon ("tasks", "ls", "-q").
  CtrResult ctr(const std::vector<std::string>& args, std::chrono::seconds timeout = std::chrono::seconds(30));

  // Idempotent; what went wrong is collected, never thrown.
  void stop() noexcept;
  const std::vector<std::string>& stop_errors() const { return errors_; }

 private:
  ContainerdRuntime() = default;
  std::vector<std::string> base_run_options(const std::string& id) const;

  std::string dir_;
  std::string address_;
  std::string cgroup_parent_;
  std::string namespace_;
  pid_t daemon_ = -1;
  std::vector<pid_t> runs_;  // start_run()s not yet reaped
  bool stopped_ = false;
  std::vector<std::string> errors_;
  std::vector<std::string> swept_stale_;
};

// A root file system for `ctr run --rootfs`: `binary` at `binary_in_rootfs`,
// every library `ldd` names for it at its own path, busybox (static) at
// /bin/busybox to look around from inside, and the empty directories the
// runtime mounts over.
Status build_rootfs(const std::string& rootfs, const std::string& binary, const std::string& binary_in_rootfs);

// A root file system of busybox (static) alone, at /bin/busybox, with the
// empty directories the runtime mounts over: a container image without a
// registry.
Status build_busybox_rootfs(const std::string& rootfs);

}  // namespace mountleak::testing

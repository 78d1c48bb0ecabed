// SPDX-License-Identifier: Apache-2.0
#pragma once

// A dockerd of the test's own (Debian's docker.io 20.10, with the containerd
// it starts itself and runc), to run containers as kubelet's dockershim had
// docker run them. Everything it keeps is under one temp dir: the data root
// (<dir>/data, where container records live: containers/<id>/config.v2.json),
// the exec root (<dir>/exec, its containerd's socket and state), the pid
// file, the API socket (<dir>/docker.sock) and an empty daemon.json, so the
// host's /var/lib/docker, /run/docker(.sock) and /etc/docker/daemon.json are
// never read or written. No bridge, no iptables, no IP forwarding or
// masquerading: containers run with --network none.
//
// Some paths dockerd 20.10 and its containerd use whatever they are told
// (measured: /etc/docker/key.json, /opt/containerd, and containerd 1.6's
// shim sockets in /run/containerd/s), so start() mounts private tmpfs on
// /run, /etc/docker and /opt in the test's own mount namespace (private
// from the real host; start() refuses to run in the host's), and stop()
// unmounts them. The daemon runs in that namespace, which mountleak is
// told is the host's, as a node's dockerd runs in the node's: mountleak
// believes a shim's command line only from a shim in the host's namespace,
// so a daemon in a namespace of its own would hide its shims.
//
// Containers go below `cgroup_parent` (the daemon's --cgroup-parent, with
// the cgroupfs driver); a container's own --cgroup-parent must start with it.
//
// stop() (also run by the destructor) removes every container, stops the
// daemon (SIGTERM, then SIGKILL), kills whatever is left that serves this
// daemon (its containerd, shims, container processes in its cgroups: a
// container may outlive the daemon with --live-restore), removes the
// cgroups and the dir. start() sweeps what runs killed outright left: the
// processes and cgroups of daemons whose seed node is gone.

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "runtime_support.h"
#include "util/result.h"

namespace mountleak::testing {

using DockerResult = CommandResult;

struct DockerdOptions {
  // Containers keep running when the daemon stops (--live-restore).
  bool live_restore = false;
};

class DockerdRuntime {
 public:
  // The docker client, not /usr/local/bin/docker (on some machines
  // something else).
  static constexpr const char* kDocker = "/usr/bin/docker";
  static constexpr const char* kDockerd = "/usr/sbin/dockerd";

  // Starts dockerd under `dir` (which must not exist yet) and waits until
  // it answers `docker version`.
  static Result<std::unique_ptr<DockerdRuntime>> start(const std::string& dir, const std::string& cgroup_parent,
                                                       const DockerdOptions& options = {});

  ~DockerdRuntime();
  DockerdRuntime(const DockerdRuntime&) = delete;
  DockerdRuntime& operator=(const DockerdRuntime&) = delete;

  const std::string& dir() const { return dir_; }
  std::string data_root() const { return dir_ + "/data"; }
  std::string exec_root() const { return dir_ + "/exec"; }
  std::string socket() const { return dir_ + "/docker.sock"; }
  // The cgroup every container goes below, relative to a hierarchy's root.
  const std::string& cgroup_parent() const { return cgroup_parent_; }
  pid_t daemon_pid() const { return daemon_; }
  // What start() removed that runs killed outright had left.
  const std::vector<std::string>& swept_stale() const { return swept_stale_; }

  // Any docker subcommand against this daemon.
  DockerResult docker(const std::vector<std::string>& args,
                      std::chrono::seconds timeout = std::chrono::seconds(60));

  // `docker import` of a root file system with busybox (static) and the
  // applets the tests run, as `image`; no registry is involved.
  Status import_busybox(const std::string& image);

  // Stops the daemon alone (SIGTERM, waiting for it to exit): with
  // --live-restore its containers keep running under their shims.
  Status stop_daemon(std::chrono::seconds timeout = std::chrono::seconds(30));

  // Idempotent; what went wrong is collected, never thrown.
  void stop() noexcept;
  const std::vector<std::string>& stop_errors() const { return errors_; }

 private:
  DockerdRuntime() = default;
  Status start_daemon(const DockerdOptions& options);
  void kill_leftovers();

  std::string dir_;
  std::string cgroup_parent_;
  pid_t daemon_ = -1;
  bool stopped_ = false;
  bool stopped_alone_ = false;  // stop_daemon() left its containers running
  std::vector<std::string> private_mounts_;  // the tmpfs mounts start() made
  std::vector<std::string> errors_;
  std::vector<std::string> swept_stale_;
};

}  // namespace mountleak::testing

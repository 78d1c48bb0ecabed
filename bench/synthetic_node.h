// SPDX-License-Identifier: Apache-2.0
#pragma once

// A node at scale for benchmarks: many containers, each a mount namespace
// with about as many mounts as a busy Kubernetes node has, some of them
// holding private copies of "rbd" mounts the host has already unmounted
// (the seed report's leak). All under a tmpfs mounted over a fresh temp dir:
//
//   <tmp>/images/kube-image-<image>.img    ext4 images behind the loop devices
//   <tmp>/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~{secret,projected}/...
//                                      small tmpfs mounts made in the host
//                                      namespace before any container exists,
//                                      so every container copies them
//   <tmp>/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/kube-image-<image>
//   <tmp>/var/lib/kubelet/pods/<uid>/volumes/kubernetes.io~rbd/<pv>
//                                      ext4 on a loop device (the "rbd") and
//                                      its pod bind; unmounted by the host
//                                      once the containers exist
//   <tmp>/var/lib/docker/containers/<id>/config.v2.json   docker metadata
//
// Each container is a docker-containerd-shim process in the host namespace
// (command line "docker-containerd-shim <id> /var/run/docker/libcontainerd/
// <id> docker-runc", via the synthetic_shim helper) with the container's
// processes below it (command line /usr/sbin/td-agent -q or /app --serve),
// in their own mount namespace and in a docker-style cgroupfs cgroup
// (/<unique>/kubepods/burstable/pod<uid>/<id>). The host's tree is shared and
// each container's namespace rslave, as on a systemd host running runc, so
// mountinfo lines carry shared:N and master:N. The containers that keep a
// device play log collectors (comm "mlb-logcollect") whose copy of the
// temp dir's tree is rprivate (a hostPath bind with the default
// propagation); the others run "mlb-app" and "mlb-worker" and hold no
// device.
//
// Preconditions: root, and fixture::enter_private_mount_namespace() called
// first thing in main (this process's namespace plays the host). The temp
// dir and cgroup parent use the seed fixture's prefix and owner lock, so
// what a crashed run leaves is swept by the next one (a benchmark or a
// SeedNode). Teardown kills every process group, unmounts, detaches the loop
// devices and removes cgroups and the temp dir, collecting problems instead
// of throwing; the destructor runs it too.

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "fixture/cgroups.h"
#include "fixture/loop_device.h"
#include "model/dev_id.h"
#include "util/result.h"

namespace mountleak::bench {

struct SyntheticNodeOptions {
  std::string tmp_parent = "/tmp";
  int containers = 200;
  // Lines of each container's mountinfo (the host's mounts outside the temp
  // dir included), before it keeps any device.
  int mounts_per_namespace = 500;
  // In each container's namespace, its init included; the shim (in the host
  // namespace) comes on top. 9 + 1 shim = 10 processes per container.
  int processes_per_container = 9;
  int leaked_devices = 4;
  int copies_per_device = 2;  // containers keeping each leaked device
  bool cgroups = true;        // place containers in docker-style cgroups
  // The host's tree under the temp dir shared, containers rslave (runc's
  // default), log collectors' copies of it rprivate; off: all private.
  bool propagation = true;
  unsigned image_size_mib = 16;
  // The synthetic_shim executable (the build defines MOUNTLEAK_SYNTHETIC_SHIM
  // for benchmarks).
  std::string shim_program;
};

struct SyntheticContainer {
  int index = 0;
  std::string id;  // 64 hex characters, as docker names containers
  std::string pod_uid;
  pid_t shim_pid = -1;  // also the process group of the whole container
  pid_t init_pid = -1;
  std::vector<pid_t> pids;  // in the container's namespace, init first
  uint64_t mntns = 0;
  std::string cgroup_path;        // relative to the hierarchy root
  std::vector<int> devices_kept;  // indexes into SyntheticNode::devices()
};

struct SyntheticDevice {
  std::unique_ptr<fixture::LoopDevice> loop;
  std::string image_file;
  std::string global_mount;  // host path, unmounted by the host after setup
  std::string pod_volume;
  std::vector<int> holders;  // container indexes keeping a copy
};

// Wall time of each build step, in seconds.
struct SyntheticBuildTimes {
  double filler_mounts = 0;  // the host's tmpfs mounts
  double devices = 0;        // mkfs, loop attach, mount
  double containers = 0;     // spawn until every process reported ready
  double leak = 0;           // the host's unmounts
  double total = 0;
};

class SyntheticNode {
 public:
  static Result<std::unique_ptr<SyntheticNode>> create(const SyntheticNodeOptions& options);

  ~SyntheticNode();
  SyntheticNode(const SyntheticNode&) = delete;
  SyntheticNode& operator=(const SyntheticNode&) = delete;

  const std::string& tmp_dir() const { return tmp_dir_; }
  std::string kubelet_root() const { return tmp_dir_ + "/var/lib/kubelet"; }
  std::string docker_root() const { return tmp_dir_ + "/var/lib/docker"; }
  pid_t host_pid() const { return host_pid_; }  // --host-mntns
  uint64_t host_mntns() const { return host_mntns_; }
  const std::vector<SyntheticContainer>& containers() const { return containers_; }
  const std::vector<SyntheticDevice>& devices() const { return devices_; }
  // Every process the node started (shims and container processes).
  size_t process_count() const;
  // Lines of the host's mountinfo once built, and of all containers'.
  size_t host_mount_count() const { return host_mounts_; }
  size_t container_mount_lines() const { return container_mount_lines_; }
  const SyntheticBuildTimes& build_times() const { return times_; }

  // HostPaths pointing at this node, tracking exactly its loop devices.
  HostPaths host_paths() const;
  // The same as mountleak options: --kubelet-root, --docker-root, the other
  // runtimes' state dirs (empty dirs under the temp dir, so nothing real is
  // read), --devices loopN per device, --host-mntns <pid>.
  std::vector<std::string> cli_args() const;

  // Idempotent, never throws; problems land in teardown_errors().
  void teardown() noexcept;
  const std::vector<std::string>& teardown_errors() const { return errors_; }
  double teardown_seconds() const { return teardown_seconds_; }

 private:
  SyntheticNode() = default;
  Status set_up(const SyntheticNodeOptions& options);
  Status make_filler_mounts(int count);
  Status make_device(int index, unsigned size_mib);
  Status start_containers(const SyntheticNodeOptions& options);
  Status leak_devices();
  void kill_containers();
  void unmount_all_under_tmp(bool including_tmp);

  std::string tmp_dir_;
  std::string unique_;
  pid_t host_pid_ = -1;
  uint64_t host_mntns_ = 0;
  int lock_fd_ = -1;
  std::vector<fixture::CgroupHierarchy> hierarchies_;
  std::vector<SyntheticContainer> containers_;
  std::vector<SyntheticDevice> devices_;
  size_t host_mounts_ = 0;
  size_t container_mount_lines_ = 0;
  SyntheticBuildTimes times_;
  double teardown_seconds_ = 0;
  bool torn_down_ = false;
  std::vector<std::string> errors_;
};

}  // namespace mountleak::bench

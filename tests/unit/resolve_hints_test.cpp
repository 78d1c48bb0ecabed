// SPDX-License-Identifier: Apache-2.0
#include "resolve/hints.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

constexpr const char* kRbdMount =
    "/var/lib/kubelet/pods/d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d/volumes/kubernetes.io~rbd/volume-0";

OciMount bind(std::string source, std::string destination, std::string propagation) {
  return OciMount{std::move(source), std::move(destination), "bind", {"rbind", propagation, "rw"}, propagation};
}

std::vector<OciMount> fluentd_mounts() {
  return {
      OciMount{"proc", "/proc", "proc", {"nosuid", "noexec", "nodev"}, ""},
      OciMount{"tmpfs", "/dev", "tmpfs", {"nosuid", "strictatime", "mode=755"}, ""},
      bind("/var/log", "/var/log", "rprivate"),
      bind("/var/lib/kubelet", "/var/lib/kubelet", "rprivate"),
      bind("/var/lib/kubelet/pods/8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01/volumes/kubernetes.io~projected/kube-api-access",
           "/var/run/secrets/kubernetes.io/serviceaccount", "rprivate"),
  };
}

TEST(ResolveHints, PropagationWord) {
  EXPECT_EQ(propagation_word("rprivate"), "private");
  EXPECT_EQ(propagation_word("rslave"), "slave");
  EXPECT_EQ(propagation_word("rshared"), "shared");
  EXPECT_EQ(propagation_word("runbindable"), "unbindable");
  EXPECT_EQ(propagation_word("private"), "private");
  EXPECT_EQ(propagation_word(""), "");
}

TEST(ResolveHints, MountCoveringTakesLongestBindPrefix) {
  auto mounts = fluentd_mounts();
  const OciMount* m = mount_covering(mounts, kRbdMount);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->destination, "/var/lib/kubelet");
  EXPECT_EQ(mount_covering(mounts, "/var/lib/kubelet"), m);
  EXPECT_EQ(mount_covering(mounts, "/var/lib/kubelet/"), m);
  ASSERT_NE(mount_covering(mounts, "/var/run/secrets/kubernetes.io/serviceaccount/token"), nullptr);
  EXPECT_EQ(mount_covering(mounts, "/var/run/secrets/kubernetes.io/serviceaccount/token")->destination,
            "/var/run/secrets/kubernetes.io/serviceaccount");
}

TEST(ResolveHints, MountCoveringRespectsComponentsAndSkipsNonBinds) {
  auto mounts = fluentd_mounts();
  EXPECT_EQ(mount_covering(mounts, "/var/lib/kubeletx/pods"), nullptr);
  EXPECT_EQ(mount_covering(mounts, "/dev/shm"), nullptr);  // tmpfs: the container made it
  EXPECT_EQ(mount_covering(mounts, "/proc/sys"), nullptr);
  EXPECT_EQ(mount_covering(mounts, "/data"), nullptr);
  EXPECT_EQ(mount_covering({}, "/data"), nullptr);
}

TEST(ResolveHints, MountCoveringLaterMountWinsAndRootCovers) {
  std::vector<OciMount> mounts = {bind("/host", "/", "rprivate"), bind("/a", "/mnt", "rprivate"),
                                  bind("/b", "/mnt/", "rslave")};
  EXPECT_EQ(mount_covering(mounts, "/mnt/x")->source, "/b");
  EXPECT_EQ(mount_covering(mounts, "/etc")->source, "/host");
  OciMount docker_style{"/var/lib/kubelet", "/host/kubelet", "", {"rbind", "ro"}, ""};
  EXPECT_NE(mount_covering({docker_style}, "/host/kubelet/pods/x"), nullptr);
}

TEST(ResolveHints, DescribeVia) {
  OciMount m = bind("/var/lib/kubelet", "/var/lib/kubelet", "rprivate");
  EXPECT_EQ(describe_via(m, "private"),
            "/var/lib/kubelet bound into the container at /var/lib/kubelet with private propagation");
  EXPECT_EQ(describe_via(m, ""),
            "/var/lib/kubelet bound into the container at /var/lib/kubelet with private propagation");
  EXPECT_EQ(describe_via(m, "slave"),
            "/var/lib/kubelet bound into the container at /var/lib/kubelet with slave propagation "
            "(configured rprivate)");
  OciMount unknown{"/var/lib/kubelet", "/host/kubelet", "bind", {"rbind"}, ""};
  EXPECT_EQ(describe_via(unknown, ""), "/var/lib/kubelet bound into the container at /host/kubelet");
  OciMount tmpfs{"", "/run", "tmpfs", {}, ""};
  EXPECT_EQ(describe_via(tmpfs, ""), "tmpfs mounted into the container at /run");
}

TEST(ResolveHints, LeakedThroughPrivateBind) {
  OciMount priv = bind("/var/lib/kubelet", "/var/lib/kubelet", "rprivate");
  OciMount slave = bind("/var/lib/kubelet", "/var/lib/kubelet", "rslave");
  EXPECT_TRUE(leaked_through_private_bind(&priv, ""));
  EXPECT_TRUE(leaked_through_private_bind(&priv, "private"));
  EXPECT_FALSE(leaked_through_private_bind(&priv, "slave"));  // what the kernel shows wins
  EXPECT_FALSE(leaked_through_private_bind(&slave, ""));
  EXPECT_TRUE(leaked_through_private_bind(&slave, "private"));
  EXPECT_FALSE(leaked_through_private_bind(nullptr, "private"));
}

TEST(ResolveHints, OwnPodVolume) {
  OciMount own = bind(
      "/var/lib/kubelet/pods/d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d/volumes/kubernetes.io~csi/pvc-1/mount",
      "/var/lib/mysql", "rprivate");
  EXPECT_TRUE(is_own_pod_volume(own, "d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d"));
  EXPECT_FALSE(is_own_pod_volume(own, "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01"));
  EXPECT_FALSE(is_own_pod_volume(own, ""));
  EXPECT_FALSE(is_own_pod_volume(bind("/var/lib/kubelet", "/var/lib/kubelet", "rprivate"),
                                 "d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d"));
}

TEST(ResolveHints, LeakingLogCollectorInAPod) {
  auto mounts = fluentd_mounts();
  PodRef pod{"kube-system", "fluentd-x7k2p", "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01"};
  HolderFacts f;
  f.device = "/dev/rbd4";
  f.runtime = "containerd";
  f.container_name = "fluentd";
  f.container_id = "d142880e8427abeec12975fd55911ea2cbd390b656a4d2bad821df997d529975";
  f.pod = &pod;
  f.via = mount_covering(mounts, kRbdMount);
  f.observed_propagation = "private";
  EXPECT_EQ(make_hint(f),
            "restart container fluentd (pod kube-system/fluentd-x7k2p) to release /dev/rbd4; set "
            "mountPropagation: HostToContainer on its hostPath volume /var/lib/kubelet so it cannot happen again");
  f.releasable = true;
  EXPECT_EQ(make_hint(f),
            "restart container fluentd (pod kube-system/fluentd-x7k2p) to release /dev/rbd4, or unmount its copy "
            "without a restart: mountleak release --device /dev/rbd4 --yes; set mountPropagation: HostToContainer "
            "on its hostPath volume /var/lib/kubelet so it cannot happen again");
}

TEST(ResolveHints, ReleaseIsOfferedOnlyForALeakedCopyOfANamedDevice) {
  PodRef pod{"kube-system", "fluentd-x7k2p", "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01"};
  HolderFacts open_file;
  open_file.kind = HolderKind::kOpenFile;
  open_file.releasable = true;  // set by mistake: an open file is never unmounted
  open_file.device = "/dev/rbd4";
  open_file.container_name = "fluentd";
  open_file.pod = &pod;
  EXPECT_EQ(make_hint(open_file).find("mountleak release"), std::string::npos) << make_hint(open_file);

  HolderFacts unnamed;
  unnamed.releasable = true;
  unnamed.container_id = "d142880e8427";
  EXPECT_EQ(make_hint(unnamed), "restart container d142880e8427 to release the device");

  HolderFacts odd_name;
  odd_name.releasable = true;
  odd_name.device = "/dev/a b;reboot";
  odd_name.container_id = "d142880e8427";
  EXPECT_EQ(make_hint(odd_name),
            "restart container d142880e8427 to release /dev/a b;reboot, or unmount its copy without a restart: "
            "mountleak release --device '/dev/a b;reboot' --yes");
}

TEST(ResolveHints, SlaveBindHolderGetsNoPropagationAdvice) {
  OciMount slave = bind("/var/lib/kubelet", "/var/lib/kubelet", "rslave");
  PodRef pod{"kube-system", "fluent-bit-4kq9z", "2b7d4e1f-3a5c-4e6b-8d9f-0a1b2c3d4e5f"};
  HolderFacts f;
  f.device = "/dev/rbd4";
  f.container_name = "fluent-bit";
  f.container_id = "8995efeba903";
  f.pod = &pod;
  f.via = &slave;
  f.observed_propagation = "slave";
  EXPECT_EQ(make_hint(f), "restart container fluent-bit (pod kube-system/fluent-bit-4kq9z) to release /dev/rbd4");
}

TEST(ResolveHints, PlainDockerContainerWithUnknownName) {
  OciMount m{"/var/lib/kubelet", "/host/kubelet", "bind", {"rbind", "ro", "rprivate"}, "rprivate"};
  HolderFacts f;
  f.device = "/dev/rbd1";
  f.runtime = "docker";
  f.container_id = "e3f7128c3555127e4507b503ccb2c06e8c54554f2cc4cfac2b3f5230acbad8af";
  f.via = &m;
  EXPECT_EQ(make_hint(f),
            "restart container e3f7128c3555 to release /dev/rbd1; recreate it with -v "
            "/var/lib/kubelet:/host/kubelet:rslave so it cannot happen again");
  f.runtime = "containerd";
  EXPECT_EQ(make_hint(f),
            "restart container e3f7128c3555 to release /dev/rbd1; bind /var/lib/kubelet with rslave propagation "
            "so it cannot happen again");
}

TEST(ResolveHints, OwnerPodIsNotALeak) {
  PodRef pod{"default", "mysql-0", "d6a2f1c4-7e3b-4a9d-b5c8-1e2f3a4b5c6d"};
  HolderFacts f;
  f.device = "/dev/rbd4";
  f.container_name = "mysql";
  f.container_id = "ce9da201e0c0";
  f.pod = &pod;
  f.owner_pod = true;
  EXPECT_EQ(make_hint(f),
            "not a leak: /dev/rbd4 is a volume of pod default/mysql-0 itself (container mysql); it is released "
            "when the pod stops");
}

TEST(ResolveHints, OpenFileHolders) {
  PodRef pod{"kube-system", "fluentd-x7k2p", "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01"};
  HolderFacts f;
  f.kind = HolderKind::kOpenFile;
  f.device = "/dev/rbd4";
  f.container_name = "fluentd";
  f.container_id = "d142880e8427";
  f.pod = &pod;
  f.pid = 4700;
  f.comm = "td-agent";
  EXPECT_EQ(make_hint(f),
            "restart container fluentd (pod kube-system/fluentd-x7k2p) to release /dev/rbd4, which its process "
            "4700 (td-agent) has open");
  HolderFacts host;
  host.kind = HolderKind::kOpenFile;
  host.device = "/dev/rbd4";
  host.pid = 912;
  host.comm = "dd";
  EXPECT_EQ(make_hint(host), "stop process 912 (dd), which has /dev/rbd4 or a file on it open (it is in no container)");
}

TEST(ResolveHints, HostNamespaceHolderAndPinnedNamespace) {
  HolderFacts f;
  f.device = "/dev/rbd4";
  f.pid = 4683;
  f.comm = "bash";
  f.mount_point = "/mnt/my data";
  EXPECT_EQ(make_hint(f),
            "unmount /dev/rbd4 in the mount namespace of process 4683 (bash), which is in no container: nsenter -t "
            "4683 -m umount '/mnt/my data'");
  f.releasable = true;
  EXPECT_EQ(make_hint(f),
            "unmount /dev/rbd4 in the mount namespace of process 4683 (bash), which is in no container: mountleak "
            "release --device /dev/rbd4 --yes, or nsenter -t 4683 -m umount '/mnt/my data'");
  HolderFacts pinned;
  pinned.device = "/dev/rbd4";
  pinned.nsfs_pin = "/run/netns-like/leaked";
  EXPECT_EQ(make_hint(pinned),
            "no process is left in this mount namespace, a bind mount of its nsfs file keeps it alive: umount "
            "/run/netns-like/leaked to release /dev/rbd4");
  HolderFacts held_open;
  held_open.device = "/dev/rbd4";
  held_open.held_open_by = 4242;
  held_open.held_open_fd = 7;
  held_open.releasable = true;  // release refuses to enter through a descriptor: not offered
  EXPECT_EQ(make_hint(held_open),
            "no process is left in this mount namespace, descriptor 7 of process 4242 keeps it alive: stop that "
            "process, or have it close the descriptor, to release /dev/rbd4");
  HolderFacts nothing;
  EXPECT_EQ(make_hint(nothing),
            "no container or process found for this holder of the device; it may have exited since the scan");
}

// The field report's other cause: a container dockerd no longer knows
// (restarted around --live-restore, its record gone), still run by its shim.
// Its pod is known only by the uid in its cgroup; restarting that pod would
// not stop it, so the hint names the shim's container and how to stop it.
TEST(ResolveHints, ContainerItsRuntimeNoLongerKnowsIsStoppedNotRestarted) {
  PodRef pod{"", "", "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01"};
  HolderFacts f;
  f.device = "/dev/rbd4";
  f.runtime = "docker";
  f.container_id = "fd93380abd5c53031658054284343107d5fc4ba9e57b8443345721eb4b61eb05";
  f.pod = &pod;
  f.pid = 4721;
  f.unknown_to_runtime = true;
  f.shim_pid = 4658;
  f.init_pid = 4683;
  const std::string expected =
      "stop container fd93380abd5c, which docker has no record of but its shim (pid 4658) still runs, left behind "
      "by a daemon restart (e.g. around --live-restore): kill -KILL 4683, its first process, to release /dev/rbd4, "
      "then kill 4658, the shim, which has no daemon to stop it; restarting a pod will not stop it";
  EXPECT_EQ(make_hint(f), expected);
  f.kind = HolderKind::kOpenFile;  // the same for a process with a file open in it
  EXPECT_EQ(make_hint(f), expected);

  // Without the first process, every process of it, starting from the holder's.
  f.init_pid = 0;
  f.runtime = "";
  f.comm = "td-agent";
  EXPECT_EQ(make_hint(f),
            "stop container fd93380abd5c, which its runtime has no record of but its shim (pid 4658) still runs, "
            "left behind by a daemon restart (e.g. around --live-restore): kill its processes (process 4721 "
            "(td-agent) and the rest) to release /dev/rbd4, then kill 4658, the shim, which has no daemon to stop it; "
            "restarting a pod will not stop it");

  // No shim found: only what is known, as before.
  f.shim_pid = 0;
  f.kind = HolderKind::kMount;
  EXPECT_EQ(make_hint(f),
            "restart container fd93380abd5c (pod with uid 8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01) to release /dev/rbd4");
}

TEST(ResolveHints, PodKnownOnlyByUid) {
  PodRef pod{"", "", "8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01"};
  HolderFacts f;
  f.device = "/dev/rbd4";
  f.container_id = "d142880e8427abeec12975fd55911ea2cbd390b656a4d2bad821df997d529975";
  f.pod = &pod;
  EXPECT_EQ(make_hint(f),
            "restart container d142880e8427 (pod with uid 8f0e7c9a-1b2d-4c3e-9f4a-5b6c7d8e9f01) to release /dev/rbd4");
}

}  // namespace
}  // namespace mountleak

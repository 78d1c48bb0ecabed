// SPDX-License-Identifier: Apache-2.0
// scan --risks' judgement on hand-made mount tables: which binds expose the
// kubelet's volume mounts with private propagation, on the layouts real
// nodes have; the fix it words; and the JSON line it prints.

#include <gtest/gtest.h>

#include "findings/hostpath_risk.h"
#include "findings/record.h"
#include "mount_entries.h"
#include "output/record_json.h"
#include "resolve/hints.h"

namespace mountleak {
namespace {

const DevId kRootDisk{254, 1};
const DevId kKubeletDisk{8, 16};
const DevId kVolume{7, 3};        // a pod's volume (the rbd device)
const DevId kContainerRoot{0, 77};

MountEntry mount(uint64_t id, uint64_t parent, DevId dev, std::string root, std::string point,
                 uint32_t shared = 0, uint32_t master = 0) {
  return testing::mount_entry(id, parent, dev, std::move(root), std::move(point), shared, master);
}

// The host's table: / on the root disk, optionally the kubelet root on a
// disk of its own, and a pod volume mounted globally and into its pod.
std::vector<MountEntry> host_mounts(bool kubelet_disk) {
  std::vector<MountEntry> m{mount(1, 0, kRootDisk, "/", "/", 1)};
  uint64_t parent = 1;
  if (kubelet_disk) {
    m.push_back(mount(2, 1, kKubeletDisk, "/", "/var/lib/kubelet", 2));
    parent = 2;
  }
  m.push_back(mount(3, parent, kVolume, "/", "/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/pool-image-i", 3));
  m.push_back(mount(4, parent, kVolume, "/", "/var/lib/kubelet/pods/u-1/volumes/kubernetes.io~rbd/pv", 3));
  return m;
}

HostLayout layout_of(const std::vector<MountEntry>& host) {
  HostLayout layout{HostView(host), {}, "/"};
  layout.kubelet.configured = layout.kubelet.host_path = "/var/lib/kubelet";
  layout.kubelet.place = layout.view.place_of("/var/lib/kubelet");
  layout.kubelet.spellings = layout.view.paths_of(*layout.kubelet.place);
  return layout;
}

// A container: a root of its own, then `binds` under it.
MountNamespace container(std::vector<MountEntry> binds) {
  MountNamespace ns;
  ns.inode = 4026532301;
  ns.pids = {4683};
  ns.mounts.push_back(mount(100, 99, kContainerRoot, "/", "/"));
  for (auto& b : binds) ns.mounts.push_back(std::move(b));
  return ns;
}

std::vector<BoundDirectory> risks(const MountNamespace& ns, bool kubelet_disk = false) {
  auto host = host_mounts(kubelet_disk);
  return kubelet_root_binds(ns, host, layout_of(host));
}

TEST(HostpathRisk, APrivateBindOfTheKubeletRootIsOneEvenWithNoVolumeInIt) {
  auto found = risks(container({mount(101, 100, kRootDisk, "/var/lib/kubelet", "/var/lib/kubelet")}));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].source.path, "/var/lib/kubelet");
  EXPECT_TRUE(found[0].kubelet_root);
  EXPECT_EQ(found[0].cover, Cover::kAncestor);
  EXPECT_EQ(found[0].mountpoint, "/var/lib/kubelet");
  EXPECT_EQ(found[0].propagation, Propagation::kPrivate);
}

TEST(HostpathRisk, HostToContainerAndBidirectionalAreNot) {
  EXPECT_TRUE(risks(container({mount(101, 100, kRootDisk, "/var/lib/kubelet", "/var/lib/kubelet", 0, 1)})).empty());
  EXPECT_TRUE(risks(container({mount(101, 100, kRootDisk, "/var/lib/kubelet", "/var/lib/kubelet", 1)})).empty());
  // Unbindable but still a slave receives the unmounts too.
  MountEntry slave_unbindable = mount(101, 100, kRootDisk, "/var/lib/kubelet", "/var/lib/kubelet", 0, 1);
  slave_unbindable.unbindable = true;
  EXPECT_TRUE(risks(container({slave_unbindable})).empty());
}

TEST(HostpathRisk, UnrelatedDirectoriesAndKubeletStateWithoutMountsAreNot) {
  EXPECT_TRUE(risks(container({mount(101, 100, kRootDisk, "/var/log", "/var/log"),
                               mount(102, 100, kRootDisk, "/var/lib/kubelet-other", "/k"),
                               mount(103, 100, kRootDisk, "/var/lib/kubelet/plugins_registry", "/registration"),
                               mount(104, 100, kRootDisk, "/var/lib/kubelet/plugins/rbd.csi.ceph.com", "/csi")}))
                  .empty());
}

TEST(HostpathRisk, AncestorsAndTheDirectoriesVolumesAreMountedUnderAre) {
  auto found = risks(container({mount(101, 100, kRootDisk, "/", "/host"),
                                mount(102, 100, kRootDisk, "/var/lib/kubelet/pods", "/pods"),
                                mount(103, 100, kRootDisk, "/var/lib/kubelet/plugins/kubernetes.io", "/plugins")}));
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].source.path, "/");
  EXPECT_EQ(found[0].cover, Cover::kAncestor);
  EXPECT_FALSE(found[0].kubelet_root);
  EXPECT_EQ(found[1].cover, Cover::kBelow);
  EXPECT_EQ(found[2].cover, Cover::kBelow);
}

TEST(HostpathRisk, APodsOwnVolumeIsNotAKubeletDirectory) {
  // The owner's bind of its volume: the volume's file system, which the
  // host shows below the kubelet root, is not a directory that holds others'.
  EXPECT_TRUE(risks(container({mount(101, 100, kVolume, "/", "/data")})).empty());
  EXPECT_TRUE(risks(container({mount(101, 100, kRootDisk, "/var/lib/kubelet/pods/u-1/volumes/x", "/data")})).empty());
}

TEST(HostpathRisk, TheKubeletRootOnItsOwnDiskAndAnRbindAboveItIsOneRisk) {
  // /var/lib bound with its submounts: the kubelet disk and a volume on it
  // came with the bind, and are not risks of their own.
  auto found = risks(container({mount(101, 100, kRootDisk, "/var/lib", "/host/var/lib"),
                                mount(102, 101, kKubeletDisk, "/", "/host/var/lib/kubelet"),
                                mount(103, 102, kKubeletDisk, "/pods", "/host/var/lib/kubelet/pods")}),
                     true);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].source.path, "/var/lib");
  EXPECT_EQ(found[0].mountpoint, "/host/var/lib");

  // The disk's root is the kubelet root by identity; its pods directory is below it.
  auto root = risks(container({mount(101, 100, kKubeletDisk, "/", "/var/lib/kubelet")}), true);
  ASSERT_EQ(root.size(), 1u);
  EXPECT_TRUE(root[0].kubelet_root);
  auto pods = risks(container({mount(101, 100, kKubeletDisk, "/pods", "/pods")}), true);
  ASSERT_EQ(pods.size(), 1u);
  EXPECT_EQ(pods[0].cover, Cover::kBelow);
  EXPECT_EQ(pods[0].source.path, "/var/lib/kubelet/pods");
}

TEST(HostpathRisk, ACopyOfTheHostsTreeIsNotABind) {
  // `unshare -m` with private propagation: the host's own mounts, copied.
  // trace calls its copies mntns_copy; it binds nothing.
  MountNamespace ns;
  ns.inode = 4026532400;
  for (auto m : host_mounts(false)) {
    m.shared_group = 0;
    m.mount_id += 1000;
    m.parent_id = m.parent_id ? m.parent_id + 1000 : 0;
    ns.mounts.push_back(m);
  }
  EXPECT_TRUE(risks(ns).empty());
}

TEST(HostpathRisk, TheFixNamesTheManifestChangeContainerAndPod) {
  PodRef pod{"kube-system", "fluentd-x7k2p", "u-9"};
  OciMount via{"/var/lib/kubelet", "/var/lib/kubelet", "bind", {"rbind", "rprivate"}, "rprivate"};
  HolderFacts f;
  f.runtime = "containerd";
  f.container_name = "fluentd";
  f.container_id = "3f2a9c1b07de";
  f.pod = &pod;
  f.via = &via;
  f.mount_point = "/var/lib/kubelet";
  const std::string hint = make_risk_hint(f);
  EXPECT_NE(hint.find("mountPropagation: HostToContainer"), std::string::npos) << hint;
  EXPECT_NE(hint.find("hostPath volume /var/lib/kubelet"), std::string::npos) << hint;
  EXPECT_NE(hint.find("container fluentd (pod kube-system/fluentd-x7k2p)"), std::string::npos) << hint;

  HolderFacts docker;
  docker.runtime = "docker";
  docker.container_id = "abcdefabcdef0123";
  docker.via = &via;
  EXPECT_NE(make_risk_hint(docker).find("-v /var/lib/kubelet:/var/lib/kubelet:rslave"), std::string::npos)
      << make_risk_hint(docker);

  HolderFacts bare;
  bare.pid = 77;
  bare.comm = "sh";
  bare.mount_point = "/mnt/x y";
  EXPECT_NE(make_risk_hint(bare).find("process 77 (sh) is in no container"), std::string::npos);
  EXPECT_NE(make_risk_hint(bare).find("'/mnt/x y'"), std::string::npos);
}

TEST(HostpathRisk, ScansJsonLineHasNoDeviceAndNamesWhoAndTheFix) {
  HostpathRisk r;
  r.mntns = 4026532301;
  r.bind.source.path = "/var/lib/kubelet";
  r.bind.kubelet_root = true;
  r.bind.cover = Cover::kAncestor;
  r.bind.mountpoint = "/var/lib/kubelet";
  Attribution who;
  who.pids = {4683};
  who.container = ContainerRef{"containerd", "3f2a", "fluentd"};
  who.pod = PodRef{"kube-system", "fluentd-x7k2p", "u-9"};
  r.who = who;
  r.hint = "set mountPropagation: HostToContainer ...";
  nlohmann::json j = record_json(Record{std::chrono::system_clock::now(), r});
  EXPECT_EQ(j["event"], "hostpath_risk");
  EXPECT_TRUE(j["device"].is_null()) << j.dump();
  EXPECT_TRUE(j["holders"].empty()) << j.dump();
  EXPECT_EQ(j["bind"]["relation"], "covers");
  EXPECT_EQ(j["bind"]["kubelet_root"], true);
  EXPECT_EQ(j["container"]["name"], "fluentd");
  EXPECT_EQ(j["pod"]["name"], "fluentd-x7k2p");
  EXPECT_EQ(j["mntns"], 4026532301u);
  EXPECT_EQ(j["found_by"], "scan");
  EXPECT_EQ(j["hint"], r.hint);
}

}  // namespace
}  // namespace mountleak

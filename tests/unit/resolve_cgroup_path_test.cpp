// SPDX-License-Identifier: Apache-2.0
#include "resolve/cgroup_path.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace mountleak {
namespace {

constexpr const char* kContainerdId = "3f2a9c1b7d0e4a5f8b6c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";
constexpr const char* kCrioId = "9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c";
constexpr const char* kDockerId = "e1d2c3b4a5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
constexpr const char* kPodUid = "6c1f5b0e-2d4a-4e8b-9f3c-7a1d2e3f4b5c";

std::string read_cgroup(const std::string& name) {
  std::ifstream in(std::string(MOUNTLEAK_TEST_DATA) + "/cgroup/" + name);
  EXPECT_TRUE(in) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void expect_container(const std::string& file, const char* runtime, const char* id, const char* pod_uid,
                      const char* qos) {
  SCOPED_TRACE(file);
  auto c = container_from_cgroup(read_cgroup(file));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, runtime);
  EXPECT_EQ(c->id, id);
  EXPECT_EQ(c->pod_uid, pod_uid);
  EXPECT_EQ(c->qos, qos);
}

TEST(ResolveCgroupPath, ContainerdSystemdDriverV2) {
  expect_container("containerd_systemd_v2.txt", "containerd", kContainerdId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, ContainerdSystemdDriverV1) {
  expect_container("containerd_systemd_v1.txt", "containerd", kContainerdId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, HybridHierarchyWithRootUnifiedLine) {
  expect_container("containerd_systemd_hybrid.txt", "containerd", kContainerdId, kPodUid, "besteffort");
}

TEST(ResolveCgroupPath, GuaranteedPodHasNoQosSlice) {
  expect_container("containerd_systemd_guaranteed_v2.txt", "containerd", kContainerdId, kPodUid, "guaranteed");
}

TEST(ResolveCgroupPath, ExtraPrefixBeforeKubepods) {
  expect_container("containerd_systemd_test_prefix_v2.txt", "containerd", kContainerdId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, ReadFromAnotherCgroupNamespace) {
  // mountleak in a pod with its own cgroup namespace sees host paths as
  // relative to its own root.
  expect_container("containerd_read_from_other_cgroupns_v2.txt", "containerd", kContainerdId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, KindNodeWithKubeletCgroupRoot) {
  expect_container("containerd_kind_v2.txt", "containerd", kContainerdId, kPodUid, "besteffort");
}

TEST(ResolveCgroupPath, CrioSystemdDriver) {
  expect_container("crio_systemd_v2.txt", "cri-o", kCrioId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, CrioWithCrunContainerLeaf) {
  expect_container("crio_systemd_crun_leaf_v2.txt", "cri-o", kCrioId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, CrioConmonIsNotTheContainer) {
  EXPECT_FALSE(container_from_cgroup(read_cgroup("crio_conmon_v2.txt")).has_value());
}

TEST(ResolveCgroupPath, CrioCgroupfsDriver) {
  expect_container("crio_cgroupfs_v1.txt", "cri-o", kCrioId, kPodUid, "besteffort");
}

TEST(ResolveCgroupPath, DockerSystemdDriverUnderKubepods) {
  expect_container("docker_systemd_kubepods_v1.txt", "docker", kDockerId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, CgroupfsDriverLeavesRuntimeToMetadata) {
  expect_container("cgroupfs_burstable_v1.txt", "", kContainerdId, kPodUid, "burstable");
}

TEST(ResolveCgroupPath, CgroupfsGuaranteedPod) {
  expect_container("cgroupfs_guaranteed_v2.txt", "", kContainerdId, kPodUid, "guaranteed");
}

TEST(ResolveCgroupPath, StaticPodUidWithoutDashes) {
  expect_container("cgroupfs_static_pod_v2.txt", "", kContainerdId, "5d9f3a1c8e2b4f7a9c0d1e2f3a4b5c6d", "guaranteed");
}

TEST(ResolveCgroupPath, PlainDockerCgroupfs) {
  expect_container("docker_plain_v1.txt", "docker", kDockerId, "", "");
}

TEST(ResolveCgroupPath, PlainDockerSystemd) {
  expect_container("docker_systemd_plain_v2.txt", "docker", kDockerId, "", "");
}

TEST(ResolveCgroupPath, HostProcessesAreNotContainers) {
  for (const char* f : {"host_session_v1.txt", "host_init_v2.txt", "host_containerd_service_v2.txt",
                        "pod_slice_only_v2.txt"}) {
    SCOPED_TRACE(f);
    EXPECT_FALSE(container_from_cgroup(read_cgroup(f)).has_value());
  }
}

TEST(ResolveCgroupPath, FirstContainerFromTheRootWins) {
  // docker-in-docker: the host's runtime knows the outer container only.
  auto c = container_from_cgroup_path(std::string("/docker/") + kDockerId + "/docker/" + kContainerdId);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, kDockerId);
}

TEST(ResolveCgroupPath, RejectsLookalikes) {
  EXPECT_FALSE(container_from_cgroup_path("/docker/not-an-id").has_value());
  EXPECT_FALSE(container_from_cgroup_path("/docker/abc").has_value());
  EXPECT_FALSE(container_from_cgroup_path("/system.slice/docker.service").has_value());
  EXPECT_FALSE(container_from_cgroup_path("/system.slice/docker-.scope").has_value());
  EXPECT_FALSE(container_from_cgroup_path("/burstable/pod123/abc").has_value());
  EXPECT_FALSE(container_from_cgroup_path("").has_value());
  EXPECT_FALSE(container_from_cgroup("garbage without colons\n\n1:x\n").has_value());
}

TEST(ResolveCgroupPath, PathMayContainColons) {
  auto c = container_from_cgroup(std::string("0::/odd:dir/docker/") + kDockerId + "\n");
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, kDockerId);
}

}  // namespace
}  // namespace mountleak

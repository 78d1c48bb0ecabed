// SPDX-License-Identifier: Apache-2.0
#include "resolve/shim_ancestry.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

constexpr const char* kId = "3f2a9c1b7d0e4a5f8b6c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a";

using Table = std::unordered_map<int, AncestorInfo>;

// init(1) -> containerd(800) -> shim(4000) -> run.sh(4683) -> td-agent(4700),
// the process tree of the field report, with the shim's command line varied.
Table tree_with_shim(std::vector<std::string> shim_cmdline) {
  return {
      {1, {0, {"/sbin/init"}}},
      {800, {1, {"/usr/bin/containerd"}}},
      {4000, {800, std::move(shim_cmdline)}},
      {4683, {4000, {"/bin/bash", "/run.sh"}}},
      {4700, {4683, {"/usr/bin/ruby", "/usr/sbin/td-agent"}}},
  };
}

TEST(ResolveShimAncestry, ContainerdShimV2UnderCri) {
  auto t = tree_with_shim({"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", kId, "-address",
                           "/run/containerd/containerd.sock"});
  auto c = container_from_ancestry(4700, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, "containerd");
  EXPECT_EQ(c->id, kId);
  EXPECT_EQ(c->shim_pid, 4000);
  EXPECT_TRUE(c->id_may_be_sandbox);
}

// A process in a container names itself like a shim for another
// container: not on the host, so walked past to the real shim above.
TEST(ResolveShimAncestry, LookalikeShimInsideAContainerIsWalkedPast) {
  auto t = tree_with_shim({"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", kId});
  t[4683] = {4000, {"containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "victim"}, /*on_host=*/false};
  auto c = container_from_ancestry(4700, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->id, kId);
  EXPECT_EQ(c->shim_pid, 4000);

  t[4000].on_host = false;  // no shim on the host at all: nothing
  EXPECT_FALSE(container_from_ancestry(4700, t).has_value());
}

TEST(ResolveShimAncestry, ContainerdShimV2UnderDockerIsPerContainer) {
  auto t = tree_with_shim({"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", kId, "-address",
                           "/run/containerd/containerd.sock"});
  auto c = container_from_ancestry(4683, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, "docker");
  EXPECT_EQ(c->id, kId);
  EXPECT_FALSE(c->id_may_be_sandbox);
}

// The shim's child on the walk is the container's first process, whoever
// the walk started from: the one whose death ends the container.
TEST(ResolveShimAncestry, InitPidIsTheShimsChildOnTheWalk) {
  auto t = tree_with_shim({"/usr/bin/containerd-shim-runc-v2", "-namespace", "moby", "-id", kId});
  auto from_grandchild = container_from_ancestry(4700, t);
  ASSERT_TRUE(from_grandchild.has_value());
  EXPECT_EQ(from_grandchild->init_pid, 4683);
  auto from_init = container_from_ancestry(4683, t);
  ASSERT_TRUE(from_init.has_value());
  EXPECT_EQ(from_init->init_pid, 4683);
}

TEST(ResolveShimAncestry, ContainerdShimV1Workdir) {
  auto t = tree_with_shim({"containerd-shim", "-namespace", "k8s.io", "-workdir",
                           std::string("/var/lib/containerd/io.containerd.runtime.v1.linux/k8s.io/") + kId + "/",
                           "-address", "/run/containerd/containerd.sock", "-containerd-binary",
                           "/usr/bin/containerd"});
  auto c = container_from_ancestry(4700, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, "containerd");
  EXPECT_EQ(c->id, kId);
  EXPECT_FALSE(c->id_may_be_sandbox);
}

TEST(ResolveShimAncestry, LegacyDockerContainerdShim) {
  // The exact shape from the field report (docker 17.03).
  auto t = tree_with_shim({"docker-containerd-shim", kId, std::string("/var/run/docker/libcontainerd/") + kId,
                           "docker-runc"});
  auto c = container_from_ancestry(4700, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, "docker");
  EXPECT_EQ(c->id, kId);
}

TEST(ResolveShimAncestry, DockerContainerdShimWithFlags) {
  auto t = tree_with_shim({"docker-containerd-shim", "-namespace", "moby", "-workdir",
                           std::string("/var/lib/docker/containerd/daemon/io.containerd.runtime.v1.linux/moby/") + kId,
                           "-address", "/var/run/docker/containerd/docker-containerd.sock"});
  auto c = container_from_ancestry(4700, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, "docker");
  EXPECT_EQ(c->id, kId);
}

TEST(ResolveShimAncestry, ConmonShortAndLongFlags) {
  for (auto cmdline : std::vector<std::vector<std::string>>{
           {"/usr/bin/conmon", "-b", "/run/containers/storage/overlay-containers/x/userdata", "-c", kId, "--exit-dir",
            "/var/run/crio/exits", "-r", "/usr/bin/runc"},
           {"/usr/bin/conmon", "--api-version", "1", "--cid", kId, "--cuuid", "deadbeef"},
           {"/usr/bin/conmon", std::string("--cid=") + kId}}) {
    auto c = container_from_ancestry(4700, tree_with_shim(cmdline));
    ASSERT_TRUE(c.has_value()) << cmdline[1];
    EXPECT_EQ(c->runtime, "cri-o");
    EXPECT_EQ(c->id, kId);
  }
}

TEST(ResolveShimAncestry, ConmonStartedByPodman) {
  auto t = tree_with_shim({"/usr/bin/conmon", "--api-version", "1", "-c", kId, "--exit-command", "/usr/bin/podman",
                           "--exit-command-arg", "--root"});
  auto c = container_from_ancestry(4700, t);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->runtime, "podman");
}

TEST(ResolveShimAncestry, ShimItselfIsNotInTheContainer) {
  auto t = tree_with_shim({"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", kId});
  EXPECT_FALSE(container_from_ancestry(4000, t).has_value());
}

TEST(ResolveShimAncestry, HostProcessHasNoShim) {
  auto t = tree_with_shim({"/usr/sbin/sshd", "-D"});
  EXPECT_FALSE(container_from_ancestry(4700, t).has_value());
  EXPECT_FALSE(container_from_ancestry(1, t).has_value());
}

TEST(ResolveShimAncestry, UnknownPidsAndBrokenChainsEndTheWalk) {
  Table t = tree_with_shim({"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", kId});
  EXPECT_FALSE(container_from_ancestry(9999, t).has_value());
  t.erase(4683);  // exited between listing and reading
  EXPECT_FALSE(container_from_ancestry(4700, t).has_value());
}

TEST(ResolveShimAncestry, CyclesTerminate) {
  Table t = {{10, {11, {"a"}}}, {11, {12, {"b"}}}, {12, {10, {"c"}}}, {13, {13, {"d"}}}};
  EXPECT_FALSE(container_from_ancestry(10, t).has_value());
  EXPECT_FALSE(container_from_ancestry(13, t).has_value());
}

TEST(ResolveShimAncestry, ShimWithoutIdIsNoMatch) {
  std::vector<std::string> v1 = {"containerd-shim-runc-v2", "-namespace", "k8s.io", "-id"};
  EXPECT_FALSE(container_from_shim_cmdline(v1).has_value());
  std::vector<std::string> v2 = {"conmon", "--cid="};
  EXPECT_FALSE(container_from_shim_cmdline(v2).has_value());
  std::vector<std::string> v3 = {"containerd-shim-runc-v2", "start"};
  EXPECT_FALSE(container_from_shim_cmdline(v3).has_value());
  EXPECT_FALSE(container_from_shim_cmdline({}).has_value());
}

TEST(ResolveShimAncestry, CallbackLookup) {
  std::vector<std::string> shim = {"containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", kId};
  std::vector<std::string> app = {"app"};
  AncestorLookup lookup = [&](int pid) -> std::optional<AncestorView> {
    if (pid == 50) return AncestorView{40, app};
    if (pid == 40) return AncestorView{1, shim};
    return std::nullopt;
  };
  auto c = container_from_ancestry(50, lookup);
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->shim_pid, 40);
}

}  // namespace
}  // namespace mountleak

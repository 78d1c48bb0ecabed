// SPDX-License-Identifier: Apache-2.0
// The live model's device index must always agree with its mount tables:
// busy findings name holders from the index alone.
#include <gtest/gtest.h>

#include "collector/live_model.h"

namespace mountleak {
namespace {

MountEntry mount(uint64_t id, DevId dev, std::string point) {
  MountEntry m;
  m.mount_id = id;
  m.parent_id = 1;
  m.dev = dev;
  m.root = "/";
  m.mount_point = std::move(point);
  return m;
}

// What the index should say, by walking every mount.
std::vector<uint64_t> walk(const LiveModel& model, DevId dev) {
  std::vector<uint64_t> out;
  for (const auto& [inode, ns] : model.namespaces())
    for (const auto& m : ns.mounts)
      if (m.dev == dev) {
        out.push_back(inode);
        break;
      }
  return out;
}

constexpr DevId kRoot{8, 1};
constexpr DevId kRbd{252, 0};
constexpr DevId kOther{252, 16};

void expect_consistent(const LiveModel& model) {
  for (DevId dev : {kRoot, kRbd, kOther}) EXPECT_EQ(model.namespaces_holding(dev), walk(model, dev)) << dev.str();
}

TEST(LiveModel, DeviceIndexFollowsEveryChange) {
  NodeSnapshot snap;
  snap.host_mntns = 100;
  snap.namespaces[100].inode = 100;
  snap.namespaces[100].pids = {1};
  snap.namespaces[100].mounts = {mount(1, kRoot, "/"), mount(2, kRbd, "/var/lib/kubelet/rbd")};
  snap.namespaces[200].inode = 200;
  snap.namespaces[200].pids = {50};
  snap.namespaces[200].mounts = {mount(10, kRoot, "/")};
  LiveModel model;
  model.reset(std::move(snap));
  EXPECT_EQ(model.namespaces_holding(kRbd), (std::vector<uint64_t>{100}));
  expect_consistent(model);

  // A copy of the host's table holds what the host held.
  model.add_namespace(300, 70, 100);
  EXPECT_EQ(model.namespaces_holding(kRbd), (std::vector<uint64_t>{100, 300}));
  expect_consistent(model);

  // The host unmounts; the copy keeps it; another namespace mounts a new device.
  model.replace_mounts(100, {mount(1, kRoot, "/")});
  model.replace_mounts(200, {mount(10, kRoot, "/"), mount(11, kOther, "/data")});
  EXPECT_EQ(model.namespaces_holding(kRbd), (std::vector<uint64_t>{300}));
  EXPECT_EQ(model.namespaces_holding(kOther), (std::vector<uint64_t>{200}));
  expect_consistent(model);

  // A recycled mount id that now names another device.
  model.replace_mounts(200, {mount(10, kRoot, "/"), mount(11, kRbd, "/data")});
  EXPECT_TRUE(model.namespaces_holding(kOther).empty());
  EXPECT_EQ(model.namespaces_holding(kRbd), (std::vector<uint64_t>{200, 300}));
  expect_consistent(model);

  model.remove(300);
  model.remove(300);  // twice: no effect
  EXPECT_EQ(model.namespaces_holding(kRbd), (std::vector<uint64_t>{200}));
  expect_consistent(model);

  // A reset rebuilds it from scratch.
  model.reset(NodeSnapshot{});
  EXPECT_TRUE(model.namespaces_holding(kRbd).empty());
  EXPECT_TRUE(model.namespaces_holding(kRoot).empty());
}

TEST(LiveModel, AnInheritedTableIsComparedByPlaceOnItsFirstRead) {
  NodeSnapshot snap;
  snap.host_mntns = 100;
  snap.namespaces[100].inode = 100;
  snap.namespaces[100].mounts = {mount(1, kRoot, "/"), mount(2, kRbd, "/var/lib/kubelet/rbd")};
  LiveModel model;
  model.reset(std::move(snap));
  model.add_namespace(300, 70, 100);
  // The kernel gave the copies new ids; one bind is really new.
  auto first = model.replace_mounts(
      300, {mount(41, kRoot, "/"), mount(42, kRbd, "/var/lib/kubelet/rbd"), mount(43, kOther, "/data")});
  ASSERT_EQ(first.added.size(), 1u);
  EXPECT_EQ(first.added[0].mount_id, 43u);
  EXPECT_TRUE(first.removed.empty());
  // From then on, by mount id.
  auto second = model.replace_mounts(300, {mount(41, kRoot, "/"), mount(44, kRbd, "/var/lib/kubelet/rbd")});
  ASSERT_EQ(second.added.size(), 1u);
  EXPECT_EQ(second.added[0].mount_id, 44u);
  ASSERT_EQ(second.removed.size(), 2u);
}

MountEntry slave(uint64_t id, uint64_t parent, DevId dev, std::string point, uint32_t master) {
  MountEntry m = mount(id, dev, std::move(point));
  m.parent_id = parent;
  m.master_group = master;
  return m;
}

// A container's table as runc leaves it: rslave copies of the host's
// mounts, one of them a tracked device under the kubelet root.
std::vector<MountEntry> container_table() {
  return {slave(10, 1, kRoot, "/", 1), slave(11, 10, kOther, "/var/lib/kubelet", 2),
          slave(12, 11, kRbd, "/var/lib/kubelet/rbd", 3), slave(13, 10, kOther, "/etc/hosts", 4),
          slave(14, 10, kOther, "/run/secrets", 5)};
}

LiveModel narrowed_model() {
  LiveModel model;
  model.narrow_with([](const MountEntry& m) { return m.dev == kRbd; });
  NodeSnapshot snap;
  snap.host_mntns = 100;
  snap.namespaces[100].inode = 100;
  snap.namespaces[100].pids = {1};
  snap.namespaces[100].mounts = {mount(1, kRoot, "/"), mount(2, kOther, "/etc/hosts"), mount(3, kOther, "/run")};
  model.reset(std::move(snap));
  return model;
}

std::vector<std::string> points(const MountNamespace& ns) {
  std::vector<std::string> out;
  for (const auto& m : ns.mounts) out.push_back(m.mount_point);
  return out;
}

TEST(LiveModel, NarrowedNamespaceKeepsWhatAFindingNeedsAndEveryPeerGroup) {
  LiveModel model = narrowed_model();
  model.add_namespace(200, 50, 0);
  model.replace_mounts(200, container_table());
  const MountNamespace* ns = model.find(200);
  ASSERT_NE(ns, nullptr);
  // The tracked mount, what it sits on, the root; not /etc/hosts or /run/secrets.
  EXPECT_EQ(points(*ns), (std::vector<std::string>{"/", "/var/lib/kubelet", "/var/lib/kubelet/rbd"}));
  EXPECT_EQ(ns->groups, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
  // A mount under group 4 on the host still reaches the container, though
  // the container's mount in that group is not kept.
  EXPECT_EQ(model.namespaces_in_groups({4}, 100), (std::vector<uint64_t>{200}));
  EXPECT_TRUE(model.namespaces_in_groups({9}, 100).empty());
  EXPECT_EQ(model.mount_count(), 3u + 3u);
  expect_consistent(model);
}

TEST(LiveModel, TheHostIsNeverNarrowed) {
  LiveModel model = narrowed_model();
  EXPECT_EQ(model.find(100)->mounts.size(), 3u);
  model.replace_mounts(100, {mount(1, kRoot, "/"), mount(2, kOther, "/etc/hosts")});
  EXPECT_EQ(model.find(100)->mounts.size(), 2u);
}

TEST(LiveModel, ACopyOfTheHostIsNarrowedToo) {
  LiveModel model = narrowed_model();
  model.add_namespace(300, 70, 100);
  EXPECT_EQ(points(*model.find(300)), (std::vector<std::string>{"/"}));
  EXPECT_EQ(model.find(300)->groups, model.find(100)->groups);
}

}  // namespace
}  // namespace mountleak

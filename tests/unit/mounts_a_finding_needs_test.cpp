// SPDX-License-Identifier: Apache-2.0
#include "model/mount_namespace.h"

#include <gtest/gtest.h>

#include "mount_entries.h"

namespace mountleak {
namespace {

const DevId kRootDisk{8, 1};
const DevId kKubeletDisk{8, 16};
const DevId kRbd{252, 0};
const DevId kTmpfs{0, 40};

MountEntry mount(uint64_t id, uint64_t parent, DevId dev, std::string point, std::string fs = "ext4") {
  MountEntry m = testing::mount_entry(id, parent, dev, "/", std::move(point));
  m.fs_type = std::move(fs);
  return m;
}

std::vector<uint64_t> ids(const std::vector<MountEntry>& mounts) {
  std::vector<uint64_t> out;
  for (const auto& m : mounts) out.push_back(m.mount_id);
  return out;
}

auto is(DevId dev) {
  return [dev](const MountEntry& m) { return m.dev == dev; };
}

// A log collector's namespace: its root, the kubelet root bound in, the
// rbd volume under it, and mounts no finding about the volume looks at.
std::vector<MountEntry> log_collector() {
  return {mount(100, 99, kRootDisk, "/", "overlay"),
          mount(101, 100, kTmpfs, "/dev", "tmpfs"),
          mount(102, 100, kKubeletDisk, "/var/lib/kubelet"),
          mount(103, 102, kRbd, "/var/lib/kubelet/pods/p/volumes/kubernetes.io~csi/pv/mount"),
          mount(104, 100, kTmpfs, "/run/secrets", "tmpfs"),
          mount(105, 100, DevId{0, 4}, "/run/pin", "nsfs"),
          mount(106, 102, kKubeletDisk, "/var/lib/kubelet/pods/q/volumes/x")};
}

TEST(MountsAFindingNeeds, KeepsTheDeviceItsBindsTheRootAndPins) {
  EXPECT_EQ(ids(mounts_a_finding_needs(log_collector(), is(kRbd))), (std::vector<uint64_t>{100, 102, 103, 105}));
}

TEST(MountsAFindingNeeds, KeepsTheRootAndPinsWhenTheDeviceIsAbsent) {
  EXPECT_EQ(ids(mounts_a_finding_needs(log_collector(), is(DevId{252, 7}))), (std::vector<uint64_t>{100, 105}));
}

// Every mount of the device and each one's own chain, in table order.
TEST(MountsAFindingNeeds, KeepsEveryMountOfTheDevice) {
  auto table = log_collector();
  table.push_back(mount(107, 101, kRbd, "/dev/vol"));
  EXPECT_EQ(ids(mounts_a_finding_needs(table, is(kRbd))), (std::vector<uint64_t>{100, 101, 102, 103, 105, 107}));
}

// A table a container wrote could loop its parents; the walk ends.
TEST(MountsAFindingNeeds, ParentCycleEnds) {
  std::vector<MountEntry> table = {mount(1, 3, kTmpfs, "/a", "tmpfs"), mount(2, 1, kTmpfs, "/a/b", "tmpfs"),
                                   mount(3, 2, kRbd, "/a/b/c"), mount(4, 4, kRbd, "/self")};
  EXPECT_EQ(ids(mounts_a_finding_needs(table, is(kRbd))), (std::vector<uint64_t>{1, 2, 3, 4}));
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "resolve/rbd_sysfs.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

// tests/data/sysfs/sys/devices/rbd/<id>, linked from sys/bus/rbd/devices as
// on a real host: 0, 4 (kube/csi-vol-4a1c...), 7 (the same image name in
// replicapool/tenant-a), 9 (a snapshot of 4's image), 12 (a kernel without
// pool_ns), 15 (attributes gone: unmapped while we looked).
HostPaths fake_host() {
  HostPaths p;
  p.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/sysfs";
  return p;
}

constexpr const char* kImage = "csi-vol-4a1c7e2b-9d3f-4b6a-8c5e-0f1a2b3c4d5e";

TEST(ResolveRbdSysfs, InfoForMappedImage) {
  auto info = rbd_info_for(fake_host(), "rbd4");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->id, 4);
  EXPECT_EQ(info->pool, "kube");
  EXPECT_EQ(info->image, kImage);
  EXPECT_EQ(info->rados_namespace, "");
  EXPECT_EQ(info->client_id, "client14235");
  EXPECT_EQ(info->snap, "");
}

TEST(ResolveRbdSysfs, InfoWithNamespaceAndSnapshot) {
  auto ns = rbd_info_for(fake_host(), "rbd7");
  ASSERT_TRUE(ns.has_value());
  EXPECT_EQ(ns->pool, "replicapool");
  EXPECT_EQ(ns->rados_namespace, "tenant-a");
  auto snap = rbd_info_for(fake_host(), "rbd9");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->snap, "backup-2024-06-01");
}

TEST(ResolveRbdSysfs, OldKernelWithoutPoolNs) {
  auto info = rbd_info_for(fake_host(), "rbd12");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->pool, "rbd");
  EXPECT_EQ(info->image, "legacy-image");
  EXPECT_EQ(info->rados_namespace, "");
}

TEST(ResolveRbdSysfs, PartitionGivesItsDisk) {
  auto info = rbd_info_for(fake_host(), "rbd4p1");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->id, 4);
}

TEST(ResolveRbdSysfs, NotRbdOrNotMapped) {
  for (const char* name : {"loop0", "rbd", "rbdx", "rbd-1", "rbd4p", "rbd4px", "rbd3", "rbd15", "sda1", ""}) {
    EXPECT_FALSE(rbd_info_for(fake_host(), name).has_value()) << name;
  }
}

TEST(ResolveRbdSysfs, DevicesForImage) {
  auto devices = rbd_devices_for_image(fake_host(), "kube", kImage);
  ASSERT_TRUE(devices.ok()) << devices.error().message;
  // Host paths, without the --host-root prefix.
  EXPECT_EQ(*devices, (std::vector<std::string>{"/dev/rbd4", "/dev/rbd9"}));
}

TEST(ResolveRbdSysfs, DevicesForSpecWithNamespaceOrSnapshot) {
  auto spec = parse_rbd_image_spec(std::string("replicapool/tenant-a/") + kImage);
  ASSERT_TRUE(spec.has_value());
  auto ns = rbd_devices_for_image(fake_host(), *spec);
  ASSERT_TRUE(ns.ok());
  ASSERT_EQ(ns->size(), 1u);
  EXPECT_TRUE(ns->front().ends_with("/dev/rbd7"));

  auto snap_spec = parse_rbd_image_spec(std::string("kube/") + kImage + "@backup-2024-06-01");
  ASSERT_TRUE(snap_spec.has_value());
  auto snap = rbd_devices_for_image(fake_host(), *snap_spec);
  ASSERT_TRUE(snap.ok());
  ASSERT_EQ(snap->size(), 1u);
  EXPECT_TRUE(snap->front().ends_with("/dev/rbd9"));
}

TEST(ResolveRbdSysfs, NoMatchAndNoDriver) {
  auto none = rbd_devices_for_image(fake_host(), "kube", "no-such-image");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  HostPaths empty;
  empty.host_root = "/nonexistent-mountleak-root";
  auto no_driver = rbd_devices_for_image(empty, "kube", kImage);
  ASSERT_TRUE(no_driver.ok());
  EXPECT_TRUE(no_driver->empty());
  EXPECT_FALSE(rbd_info_for(empty, "rbd4").has_value());
}

TEST(ResolveRbdSysfs, ParseImageSpec) {
  auto s = parse_rbd_image_spec("kube/img");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->pool, "kube");
  EXPECT_EQ(s->rados_namespace, "");
  EXPECT_EQ(s->image, "img");
  EXPECT_FALSE(s->snap.has_value());
  auto n = parse_rbd_image_spec("p/ns/img@s1");
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(n->rados_namespace, "ns");
  EXPECT_EQ(n->snap, "s1");
  for (const char* bad : {"", "img", "/img", "kube/", "p//img", "a/b/c/d", "kube/img@"})
    EXPECT_FALSE(parse_rbd_image_spec(bad).has_value()) << bad;
}

}  // namespace
}  // namespace mountleak

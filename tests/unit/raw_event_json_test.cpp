// SPDX-License-Identifier: Apache-2.0
#include "output/raw_event_json.h"

#include <sys/mount.h>

#include <gtest/gtest.h>


namespace mountleak {
namespace {

TEST(MountFlagsText, NamesBitsAndKeepsUnknownOnes) {
  EXPECT_EQ(mount_flags_text(MS_BIND | MS_REC), "MS_BIND|MS_REC");
  EXPECT_EQ(mount_flags_text(MS_REC | MS_PRIVATE), "MS_REC|MS_PRIVATE");
  EXPECT_EQ(mount_flags_text(0), "");
  // The legacy magic in the top half is not a flag.
  EXPECT_EQ(mount_flags_text(0xc0ed0000u | MS_BIND), "MS_BIND");
  EXPECT_EQ(mount_flags_text(1u << 30), "0x40000000");
}

TEST(RawEventJson, MountEventNamesItsArguments) {
  KernelEvent e;
  e.kind = EventKind::kMount;
  e.pid = 42;
  e.comm = "runc:[2:INIT]";
  e.payload = MountCall{"/var/lib/kubelet", "/rootfs/var/lib/kubelet", "", MS_BIND};
  auto j = raw_event_json(e);
  EXPECT_EQ(j["event"], "mount");
  EXPECT_EQ(j["source"], "/var/lib/kubelet");
  EXPECT_EQ(j["target"], "/rootfs/var/lib/kubelet");
  EXPECT_EQ(j["flags"], "MS_BIND");
  EXPECT_EQ(j["comm"], "runc:[2:INIT]");
  EXPECT_EQ(j["tier"], "tracepoint");
}

TEST(RawEventJson, BusySourceIsNamed) {
  KernelEvent e;
  e.kind = EventKind::kBusy;
  BusyFailure busy;
  busy.source = BusySource::kRbdRemove;
  busy.path = "4";
  e.payload = busy;
  auto j = raw_event_json(e);
  EXPECT_EQ(j["event"], "busy_raw");
  EXPECT_EQ(j["source"], "rbd_remove");
  EXPECT_EQ(j["path"], "4");
  EXPECT_FALSE(j.contains("file"));
}

TEST(RawEventJson, PropagationNamesTheDevice) {
  KernelEvent e;
  e.kind = EventKind::kPropagateUmount;
  e.tier = EventTier::kKernel;
  e.payload = PropagatedChange{(7ull << 20) | 3, "pool-image-a"};
  auto j = raw_event_json(e);
  EXPECT_EQ(j["event"], "propagate_umount");
  EXPECT_EQ(j["dev"], "7:3");
  EXPECT_EQ(j["mountpoint_name"], "pool-image-a");
  EXPECT_EQ(j["tier"], "kernel");
}

}  // namespace
}  // namespace mountleak

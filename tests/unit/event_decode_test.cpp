// SPDX-License-Identifier: Apache-2.0
// The wire layout to KernelEvent: each kind's fields land in its payload,
// strings stop at their field's end, and what does not fit is refused.

#include "sources/event_decode.h"

#include <linux/types.h>
#include <sys/mount.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "mountleak/events.h"

namespace mountleak {
namespace {

ml_event wire(uint32_t kind) {
  ml_event e{};
  e.kind = kind;
  e.pid = 42;
  e.tid = 43;
  e.ppid = 1;
  e.mntns = 4026531840u;
  e.ts_ns = 123;
  e.cgroup_id = 77;
  e.ret = -16;
  std::strcpy(e.comm, "runc:[2:INIT]");
  return e;
}

TEST(EventDecode, HeaderFieldsAreKept) {
  ml_event e = wire(ML_EV_UMOUNT);
  e.tier = ML_TIER_KERNEL;
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, EventKind::kUmount);
  EXPECT_EQ(d->pid, 42u);
  EXPECT_EQ(d->tid, 43u);
  EXPECT_EQ(d->ppid, 1u);
  EXPECT_EQ(d->mntns, 4026531840u);
  EXPECT_EQ(d->ts_ns, 123u);
  EXPECT_EQ(d->cgroup_id, 77u);
  EXPECT_EQ(d->ret, -16);
  EXPECT_EQ(d->tier, EventTier::kKernel);
  EXPECT_EQ(d->comm, "runc:[2:INIT]");
}

TEST(EventDecode, MountCarriesItsStrings) {
  ml_event e = wire(ML_EV_MOUNT);
  e.flags = MS_BIND | MS_REC;
  std::strcpy(e.path1, "/var/lib/kubelet");
  std::strcpy(e.path2, "/rootfs/var/lib/kubelet");
  std::strcpy(e.fstype, "none");
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  const auto& m = std::get<MountCall>(d->payload);
  EXPECT_EQ(m.source, "/var/lib/kubelet");
  EXPECT_EQ(m.target, "/rootfs/var/lib/kubelet");
  EXPECT_EQ(m.fstype, "none");
  EXPECT_EQ(m.flags, static_cast<uint64_t>(MS_BIND | MS_REC));
}

TEST(EventDecode, NamespaceEventsKeepTheOldNamespace) {
  ml_event e = wire(ML_EV_MNTNS);
  e.old_mntns = 4026531841u;
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<NamespaceSwitch>(d->payload).old_mntns, 4026531841u);
}

TEST(EventDecode, BusyNamesItsSourceAndDevice) {
  ml_event e = wire(ML_EV_BUSY);
  e.busy_source = ML_BUSY_UMOUNT;
  e.dfd1 = -100;
  e.arg2 = (251ull << 20) | 16;
  std::strcpy(e.path1, "/mnt/volume");
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  const auto& b = std::get<BusyFailure>(d->payload);
  EXPECT_EQ(b.source, BusySource::kUmount);
  EXPECT_EQ(b.path, "/mnt/volume");
  EXPECT_EQ(b.dfd, -100);
  EXPECT_EQ(b.dev, (251ull << 20) | 16);
}

TEST(EventDecode, UnterminatedStringsStopAtTheirField) {
  ml_event e = wire(ML_EV_UMOUNT);
  std::memset(e.path1, 'a', sizeof e.path1);  // no NUL, and path2 follows
  std::strcpy(e.path2, "beyond");
  std::memset(e.comm, 'c', sizeof e.comm);
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<UmountCall>(d->payload).target, std::string(sizeof e.path1, 'a'));
  EXPECT_EQ(d->comm, std::string(sizeof e.comm, 'c'));
}

TEST(EventDecode, ShortRecordsAndUnknownKindsAreRefused) {
  ml_event e = wire(ML_EV_MOUNT);
  EXPECT_FALSE(decode_event(&e, sizeof e - 1));
  EXPECT_FALSE(decode_event(&e, 0));
  e.kind = 0;
  EXPECT_FALSE(decode_event(&e, sizeof e));
  e.kind = 999;
  EXPECT_FALSE(decode_event(&e, sizeof e));
}

TEST(EventDecode, UnalignedBytesDecode) {
  ml_event e = wire(ML_EV_SETNS);
  std::vector<unsigned char> bytes(sizeof e + 1);
  std::memcpy(bytes.data() + 1, &e, sizeof e);
  auto d = decode_event(bytes.data() + 1, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, EventKind::kSetns);
}

}  // namespace
}  // namespace mountleak

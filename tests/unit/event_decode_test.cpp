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

// A record of `Record` for `kind` with its header filled as a BPF program
// would fill it.
template <typename Record>
Record wire(uint32_t kind) {
  Record e{};
  e.h.kind = kind;
  e.h.size = sizeof(Record);
  e.h.pid = 42;
  e.h.tid = 43;
  e.h.ppid = 1;
  e.h.mntns = 4026531840u;
  e.h.ts_ns = 123;
  e.h.cgroup_id = 77;
  e.h.ret = -16;
  std::strcpy(e.h.comm, "runc:[2:INIT]");
  return e;
}

TEST(EventDecode, HeaderFieldsAreKept) {
  auto e = wire<ml_umount_event>(ML_EV_UMOUNT);
  e.h.tier = ML_TIER_KERNEL;
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
  auto e = wire<ml_mount_event>(ML_EV_MOUNT);
  e.flags = MS_BIND | MS_REC;
  std::strcpy(e.source, "/var/lib/kubelet");
  std::strcpy(e.target, "/rootfs/var/lib/kubelet");
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
  auto e = wire<ml_namespace_event>(ML_EV_MNTNS);
  e.old_mntns = 4026531841u;
  e.flags = 0x20000;
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<NamespaceSwitch>(d->payload).old_mntns, 4026531841u);
  EXPECT_EQ(std::get<NamespaceSwitch>(d->payload).flags, 0x20000u);
}

TEST(EventDecode, EachCallKeepsItsArguments) {
  auto tree = wire<ml_open_tree_event>(ML_EV_OPEN_TREE);
  tree.dfd = -100;
  tree.flags = 1;
  std::strcpy(tree.path, "/var/lib/kubelet/pods");
  auto d = decode_event(&tree, sizeof tree);
  ASSERT_TRUE(d);
  const auto& t = std::get<OpenTreeCall>(d->payload);
  EXPECT_EQ(t.dfd, -100);
  EXPECT_EQ(t.path, "/var/lib/kubelet/pods");
  EXPECT_EQ(t.flags, 1u);

  auto move = wire<ml_move_mount_event>(ML_EV_MOVE_MOUNT);
  move.from_dfd = 3;
  move.to_dfd = 4;
  std::strcpy(move.from, "");
  std::strcpy(move.to, "/rootfs/data");
  move.flags = 4;
  d = decode_event(&move, sizeof move);
  ASSERT_TRUE(d);
  const auto& m = std::get<MoveMountCall>(d->payload);
  EXPECT_EQ(m.from_dfd, 3);
  EXPECT_EQ(m.to_dfd, 4);
  EXPECT_EQ(m.to, "/rootfs/data");
  EXPECT_EQ(m.flags, 4u);

  auto fsm = wire<ml_fsmount_event>(ML_EV_FSMOUNT);
  fsm.fs_fd = 5;
  fsm.flags = 1;
  fsm.attr_flags = 2;
  d = decode_event(&fsm, sizeof fsm);
  ASSERT_TRUE(d);
  const auto& f = std::get<FsmountCall>(d->payload);
  EXPECT_EQ(f.fs_fd, 5);
  EXPECT_EQ(f.flags, 1u);
  EXPECT_EQ(f.attr_flags, 2u);

  auto attr = wire<ml_mount_setattr_event>(ML_EV_MOUNT_SETATTR);
  attr.dfd = 6;
  std::strcpy(attr.path, "/data");
  attr.flags = 0x8000;
  attr.attr_set = 1;
  attr.propagation = MS_SLAVE;
  d = decode_event(&attr, sizeof attr);
  ASSERT_TRUE(d);
  const auto& a = std::get<MountSetattrCall>(d->payload);
  EXPECT_EQ(a.dfd, 6);
  EXPECT_EQ(a.path, "/data");
  EXPECT_EQ(a.flags, 0x8000u);
  EXPECT_EQ(a.attr_set, 1u);
  EXPECT_EQ(a.propagation, static_cast<uint64_t>(MS_SLAVE));

  auto copy = wire<ml_propagate_event>(ML_EV_PROPAGATE_UMOUNT);
  copy.dev = (7ull << 20) | 3;
  std::strcpy(copy.mountpoint_name, "volume");
  d = decode_event(&copy, sizeof copy);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, EventKind::kPropagateUmount);
  EXPECT_EQ(std::get<PropagatedChange>(d->payload).dev, (7ull << 20) | 3);
  EXPECT_EQ(std::get<PropagatedChange>(d->payload).mountpoint_name, "volume");
}

TEST(EventDecode, BusyNamesItsSourceAndDevice) {
  auto e = wire<ml_busy_event>(ML_EV_BUSY);
  e.source = ML_BUSY_UMOUNT;
  e.dfd = -100;
  e.dev = (251ull << 20) | 16;
  e.flags = 2;
  e.arg = 0x4c01;
  std::strcpy(e.path, "/mnt/volume");
  std::strcpy(e.file, "remove");
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  const auto& b = std::get<BusyFailure>(d->payload);
  EXPECT_EQ(b.source, BusySource::kUmount);
  EXPECT_EQ(b.path, "/mnt/volume");
  EXPECT_EQ(b.file, "remove");
  EXPECT_EQ(b.dfd, -100);
  EXPECT_EQ(b.dev, (251ull << 20) | 16);
  EXPECT_EQ(b.flags, 2u);
  EXPECT_EQ(b.arg, 0x4c01u);
}

TEST(EventDecode, DmRemoveCarriesTheNameAndUuidTheCallerGave) {
  auto e = wire<ml_busy_event>(ML_EV_BUSY);
  e.source = ML_BUSY_DM_REMOVE;
  e.arg = 0xc138fd04;  // DM_DEV_REMOVE
  std::strcpy(e.path, "vg-data");
  std::strcpy(e.file, "LVM-abc");
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  const auto& b = std::get<BusyFailure>(d->payload);
  EXPECT_EQ(b.source, BusySource::kDmRemove);
  EXPECT_EQ(b.path, "vg-data");
  EXPECT_EQ(b.file, "LVM-abc");
  EXPECT_EQ(b.arg, 0xc138fd04u);
}

TEST(EventDecode, UnterminatedStringsStopAtTheirField) {
  auto e = wire<ml_mount_event>(ML_EV_MOUNT);
  std::memset(e.source, 'a', sizeof e.source);  // no NUL, and target follows
  std::strcpy(e.target, "beyond");
  std::memset(e.h.comm, 'c', sizeof e.h.comm);
  auto d = decode_event(&e, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(std::get<MountCall>(d->payload).source, std::string(sizeof e.source, 'a'));
  EXPECT_EQ(std::get<MountCall>(d->payload).target, "beyond");
  EXPECT_EQ(d->comm, std::string(sizeof e.h.comm, 'c'));
}

TEST(EventDecode, ShortRecordsAndUnknownKindsAreRefused) {
  auto e = wire<ml_mount_event>(ML_EV_MOUNT);
  EXPECT_FALSE(decode_event(&e, sizeof e - 1));
  EXPECT_FALSE(decode_event(&e, sizeof(ml_event_header)));
  EXPECT_FALSE(decode_event(&e, 0));
  e.h.kind = 0;
  EXPECT_FALSE(decode_event(&e, sizeof e));
  e.h.kind = 999;
  EXPECT_FALSE(decode_event(&e, sizeof e));
}

TEST(EventDecode, ARecordOfAnotherKindsSizeIsRefused) {
  // A namespace record that says it is a mount: too short for one.
  auto ns = wire<ml_namespace_event>(ML_EV_MOUNT);
  EXPECT_FALSE(decode_event(&ns, sizeof ns));
  // A mount record whose header names another size, or a ring sample longer
  // than the record.
  auto mount = wire<ml_mount_event>(ML_EV_MOUNT);
  mount.h.size = sizeof(ml_namespace_event);
  EXPECT_FALSE(decode_event(&mount, sizeof mount));
  mount.h.size = sizeof mount;
  std::vector<unsigned char> longer(sizeof mount + 8);
  std::memcpy(longer.data(), &mount, sizeof mount);
  EXPECT_FALSE(decode_event(longer.data(), longer.size()));
  EXPECT_TRUE(decode_event(longer.data(), sizeof mount));
}

TEST(EventDecode, UnalignedBytesDecode) {
  auto e = wire<ml_namespace_event>(ML_EV_SETNS);
  std::vector<unsigned char> bytes(sizeof e + 1);
  std::memcpy(bytes.data() + 1, &e, sizeof e);
  auto d = decode_event(bytes.data() + 1, sizeof e);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->kind, EventKind::kSetns);
}

}  // namespace
}  // namespace mountleak

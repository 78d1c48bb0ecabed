// SPDX-License-Identifier: Apache-2.0
// The userspace view of the event ABI, pinned: a change here without a bump
// of MOUNTLEAK_ABI_VERSION (and the BPF side) breaks the build or this test.

#include <linux/types.h>

#include <gtest/gtest.h>

#include <cstddef>

#include "mountleak/events.h"

// Every record is its own kind's struct, a common header first; the BPF
// side pins the same numbers (bpf/common.bpf.h).
static_assert(sizeof(ml_event_header) == 64, "ml_event_header changed: bump MOUNTLEAK_ABI_VERSION");
static_assert(offsetof(ml_event_header, ts_ns) == 0);
static_assert(offsetof(ml_event_header, cgroup_id) == 8);
static_assert(offsetof(ml_event_header, kind) == 16);
static_assert(offsetof(ml_event_header, size) == 20);
static_assert(offsetof(ml_event_header, pid) == 24);
static_assert(offsetof(ml_event_header, tid) == 28);
static_assert(offsetof(ml_event_header, ppid) == 32);
static_assert(offsetof(ml_event_header, mntns) == 36);
static_assert(offsetof(ml_event_header, ret) == 40);
static_assert(offsetof(ml_event_header, tier) == 44);
static_assert(offsetof(ml_event_header, comm) == 48);
static_assert(alignof(ml_event_header) == 8);

static_assert(sizeof(ml_namespace_event) == 80);
static_assert(offsetof(ml_namespace_event, flags) == 64);
static_assert(offsetof(ml_namespace_event, old_mntns) == 72);

static_assert(sizeof(ml_mount_event) == 600);
static_assert(offsetof(ml_mount_event, flags) == 64);
static_assert(offsetof(ml_mount_event, source) == 72);
static_assert(offsetof(ml_mount_event, target) == 328);
static_assert(offsetof(ml_mount_event, fstype) == 584);

static_assert(sizeof(ml_umount_event) == 328);
static_assert(offsetof(ml_umount_event, target) == 72);

static_assert(sizeof(ml_open_tree_event) == 336);
static_assert(offsetof(ml_open_tree_event, dfd) == 72);
static_assert(offsetof(ml_open_tree_event, path) == 80);

static_assert(sizeof(ml_move_mount_event) == 592);
static_assert(offsetof(ml_move_mount_event, from_dfd) == 72);
static_assert(offsetof(ml_move_mount_event, to_dfd) == 76);
static_assert(offsetof(ml_move_mount_event, from) == 80);
static_assert(offsetof(ml_move_mount_event, to) == 336);

static_assert(sizeof(ml_fsmount_event) == 88);
static_assert(offsetof(ml_fsmount_event, attr_flags) == 72);
static_assert(offsetof(ml_fsmount_event, fs_fd) == 80);

static_assert(sizeof(ml_mount_setattr_event) == 352);
static_assert(offsetof(ml_mount_setattr_event, attr_set) == 72);
static_assert(offsetof(ml_mount_setattr_event, propagation) == 80);
static_assert(offsetof(ml_mount_setattr_event, dfd) == 88);
static_assert(offsetof(ml_mount_setattr_event, path) == 96);

static_assert(sizeof(ml_propagate_event) == 328);
static_assert(offsetof(ml_propagate_event, dev) == 64);
static_assert(offsetof(ml_propagate_event, mountpoint_name) == 72);

static_assert(sizeof(ml_busy_event) == 608);
static_assert(offsetof(ml_busy_event, flags) == 64);
static_assert(offsetof(ml_busy_event, arg) == 72);
static_assert(offsetof(ml_busy_event, dev) == 80);
static_assert(offsetof(ml_busy_event, source) == 88);
static_assert(offsetof(ml_busy_event, dfd) == 92);
static_assert(offsetof(ml_busy_event, path) == 96);
static_assert(offsetof(ml_busy_event, file) == 352);

// Version 2 added the kernel tier's PROPAGATE_* kinds and dev_t in arg2;
// version 3 split the one 632-byte struct ml_event into a header and a
// record per kind.
TEST(EventsAbi, VersionIsThree) { EXPECT_EQ(MOUNTLEAK_ABI_VERSION, 3); }

// No record is bigger in the ring buffer than version 2's one struct was.
TEST(EventsAbi, NoRecordIsBiggerThanVersionTwos) {
  for (size_t size : {sizeof(ml_namespace_event), sizeof(ml_mount_event), sizeof(ml_umount_event),
                      sizeof(ml_open_tree_event), sizeof(ml_move_mount_event), sizeof(ml_fsmount_event),
                      sizeof(ml_mount_setattr_event), sizeof(ml_propagate_event), sizeof(ml_busy_event)})
    EXPECT_LT(size, 632u);
}

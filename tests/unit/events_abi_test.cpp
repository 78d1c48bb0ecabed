// SPDX-License-Identifier: Apache-2.0
// The userspace view of the event ABI, pinned: a change here without a bump
// of MOUNTLEAK_ABI_VERSION (and the BPF side) breaks the build or this test.

#include <linux/types.h>

#include <gtest/gtest.h>

#include <cstddef>

#include "mountleak/events.h"

static_assert(sizeof(ml_event) == 632, "ml_event layout changed: bump MOUNTLEAK_ABI_VERSION");
static_assert(offsetof(ml_event, ts_ns) == 0);
static_assert(offsetof(ml_event, cgroup_id) == 8);
static_assert(offsetof(ml_event, flags) == 16);
static_assert(offsetof(ml_event, arg) == 24);
static_assert(offsetof(ml_event, arg2) == 32);
static_assert(offsetof(ml_event, kind) == 40);
static_assert(offsetof(ml_event, pid) == 44);
static_assert(offsetof(ml_event, mntns) == 56);
static_assert(offsetof(ml_event, ret) == 64);
static_assert(offsetof(ml_event, busy_source) == 76);
static_assert(offsetof(ml_event, tier) == 80);
static_assert(offsetof(ml_event, comm) == 88);
static_assert(offsetof(ml_event, path1) == 104);
static_assert(offsetof(ml_event, path2) == 360);
static_assert(offsetof(ml_event, fstype) == 616);
static_assert(alignof(ml_event) == 8);

// Version 2 added the kernel tier's PROPAGATE_* kinds and dev_t in arg2.
TEST(EventsAbi, VersionIsTwo) { EXPECT_EQ(MOUNTLEAK_ABI_VERSION, 2); }

// SPDX-License-Identifier: Apache-2.0
// The statmount path without a kernel: the decision whether to use it, and
// turning a reply (raw strings) into the MountEntry mountinfo would give.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "model/mountinfo.h"
#include "sources/mount_api.h"
#include "sources/statmount_reader.h"

namespace mountleak {
namespace {

namespace api = mount_api;

StatmountProbe capable() {
  StatmountProbe p;
  p.returned_mask = statmount_fields_needed() | api::kSupportedMask;
  p.supported_mask = 0x7fff;
  return p;
}

TEST(MountTableChoice, AutoTakesStatmountWhenEveryFieldIsSupported) {
  auto c = choose_mount_table(MountTableMethod::kAuto, capable());
  EXPECT_TRUE(c.statmount);
  EXPECT_EQ(c.method, "statmount");
  EXPECT_TRUE(c.reason.empty());
  EXPECT_FALSE(c.refused);
}

TEST(MountTableChoice, MountinfoWhenAskedEvenIfTheKernelCould) {
  auto c = choose_mount_table(MountTableMethod::kMountinfo, capable());
  EXPECT_FALSE(c.statmount);
  EXPECT_EQ(c.method, "mountinfo");
  EXPECT_NE(c.reason.find("--mount-table mountinfo"), std::string::npos);
  EXPECT_FALSE(c.refused);
}

// auto on this probe reads mountinfo, not refused, giving a reason that
// holds `why`.
void expect_fallback(const StatmountProbe& p, const std::string& why) {
  auto c = choose_mount_table(MountTableMethod::kAuto, p);
  EXPECT_FALSE(c.statmount);
  EXPECT_EQ(c.method, "mountinfo");
  EXPECT_FALSE(c.refused);
  EXPECT_NE(c.reason.find(why), std::string::npos) << c.reason;
}

TEST(MountTableChoice, FallsBackAndSaysWhy) {
  StatmountProbe p = capable();
  p.listmount_errno = ENOSYS;
  expect_fallback(p, "listmount(2) is not in this kernel (ENOSYS)");

  p = capable();
  p.statmount_errno = EPERM;  // a seccomp filter
  expect_fallback(p, "statmount(2) is refused (EPERM");

  p = capable();
  p.listmount_errno = E2BIG;  // 6.8-6.10: mnt_id_req has no mnt_ns_id
  expect_fallback(p, "cannot list another mount namespace");

  p = capable();
  p.ns_id_errno = ENOTTY;
  expect_fallback(p, "NS_GET_MNTNS_ID is not in this kernel");

  p = StatmountProbe{};
  p.returned_mask = statmount_fields_needed();  // 6.13/6.14: no STATMOUNT_SUPPORTED_MASK
  expect_fallback(p, "STATMOUNT_SUPPORTED_MASK");

  p = capable();
  p.supported_mask = statmount_fields_needed() & ~(api::kSbSource | api::kFsSubtype);
  expect_fallback(p, "STATMOUNT_FS_SUBTYPE, STATMOUNT_SB_SOURCE");
}

TEST(MountTableChoice, DemandedStatmountIsRefusedWhereMissing) {
  StatmountProbe p = capable();
  p.listmount_errno = ENOSYS;
  auto c = choose_mount_table(MountTableMethod::kStatmount, p);
  EXPECT_FALSE(c.statmount);
  EXPECT_TRUE(c.refused);
  EXPECT_TRUE(choose_mount_table(MountTableMethod::kStatmount, capable()).statmount);
}

TEST(MountTableChoice, ADirectoryTreeStandingInForProcIsNeverStatmounted) {
  const std::string dir = ::testing::TempDir();
  auto c = choose_mount_table_on(dir, MountTableMethod::kAuto);
  EXPECT_FALSE(c.statmount);
  EXPECT_NE(c.reason.find("is not a procfs"), std::string::npos) << c.reason;
  EXPECT_FALSE(c.refused);
  EXPECT_TRUE(choose_mount_table_on(dir, MountTableMethod::kStatmount).refused);
}

// A statmount reply as the kernel lays it out: the fixed part, then NUL-
// terminated strings at the offsets it names.
class Reply {
 public:
  Reply() {
    sm_.mask = api::kSbBasic | api::kMntBasic | api::kPropagateFrom | api::kMntRoot | api::kMntPoint | api::kFsType;
    sm_.sb_dev_major = 7;
    sm_.sb_dev_minor = 3;
    sm_.mnt_id = 0x100000000ull + 42;
    sm_.mnt_id_old = 42;
    sm_.mnt_parent_id_old = 30;
    sm_.mnt_propagation = api::kMsPrivate;
    root("/");
    point("/mnt");
    type("ext4");
  }
  Reply& root(std::string_view s) { return put(sm_.mnt_root, api::kMntRoot, s); }
  Reply& point(std::string_view s) { return put(sm_.mnt_point, api::kMntPoint, s); }
  Reply& type(std::string_view s) { return put(sm_.fs_type, api::kFsType, s); }
  Reply& subtype(std::string_view s) { return put(sm_.fs_subtype, api::kFsSubtype, s); }
  Reply& source(std::string_view s) { return put(sm_.sb_source, api::kSbSource, s); }
  api::Statmount& fixed() { return sm_; }
  std::string& strings() { return str_; }

  std::vector<char> bytes() const {
    api::Statmount sm = sm_;
    sm.size = static_cast<uint32_t>(sizeof sm + str_.size());
    std::vector<char> out(sizeof sm + str_.size());
    std::memcpy(out.data(), &sm, sizeof sm);
    std::memcpy(out.data() + sizeof sm, str_.data(), str_.size());
    return out;
  }
  Result<MountEntry> entry() const {
    auto b = bytes();
    return entry_from_statmount(b.data(), b.size());
  }

 private:
  Reply& put(uint32_t& field, uint64_t bit, std::string_view s) {
    field = static_cast<uint32_t>(str_.size());
    str_.append(s);
    str_.push_back('\0');
    sm_.mask |= bit;
    return *this;
  }
  api::Statmount sm_{};
  std::string str_;
};

TEST(StatmountEntry, RawStringsGiveTheEntryMountinfoEscapesGive) {
  // Every byte a container may put in a mount point: space, tab, newline,
  // backslash, a backslash before digits (must not be unescaped twice), and
  // bytes that are not UTF-8.
  const std::string hostile = std::string("/var/lib/a b\tc\nd\\e\\040f/\xff\xfe") + std::string(3000, 'x');
  Reply r;
  r.point(hostile).root("/sub dir\\n").source("src with\nnewline").fixed().mnt_propagation =
      api::kMsShared | api::kMsSlave;
  r.fixed().mnt_peer_group = 5;
  r.fixed().mnt_master = 3;
  auto e = r.entry();
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(e->mount_point, hostile);
  EXPECT_EQ(e->root, "/sub dir\\n");
  EXPECT_EQ(e->source, "src with\nnewline");
  EXPECT_EQ(e->mount_id, 42u);  // mountinfo's id, not the 64-bit one
  EXPECT_EQ(e->parent_id, 30u);
  EXPECT_EQ(e->dev.str(), "7:3");
  EXPECT_EQ(e->shared_group, 5u);
  EXPECT_EQ(e->master_group, 3u);
  EXPECT_EQ(e->propagation(), Propagation::kSharedAndSlave);

  // The same mount as mountinfo prints it parses to the same entry.
  MountTable text = parse_mountinfo(format_mountinfo_line(*e) + "\n", "test");
  ASSERT_EQ(text.mounts.size(), 1u);
  ASSERT_TRUE(text.issues.empty());
  EXPECT_EQ(text.mounts[0], *e);
}

TEST(StatmountEntry, PropagationFieldsFollowTheFlagsNotTheNumbers) {
  Reply r;
  r.fixed().mnt_propagation = api::kMsPrivate | api::kMsUnbindable;
  r.fixed().mnt_peer_group = 9;  // ignored: not shared
  r.fixed().mnt_master = 8;      // ignored: not a slave
  auto e = r.entry();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->shared_group, 0u);
  EXPECT_EQ(e->master_group, 0u);
  EXPECT_TRUE(e->unbindable);
  EXPECT_EQ(e->propagation(), Propagation::kUnbindable);
}

TEST(StatmountEntry, SubtypeJoinsTypeAsMountinfoPrintsIt) {
  auto e = Reply().type("fuse").subtype("sshfs").entry();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->fs_type, "fuse.sshfs");
  auto plain = Reply().type("fuse").subtype("").entry();
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->fs_type, "fuse");
}

TEST(StatmountEntry, NoSourceIsNoneAsInMountinfo) {
  auto e = Reply().entry();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->source, "none");
}

TEST(StatmountEntry, PropagateFromOnlyWhenItDiffersFromMaster) {
  Reply r;
  r.fixed().mnt_propagation = api::kMsSlave;
  r.fixed().mnt_master = 4;
  r.fixed().propagate_from = 4;
  EXPECT_EQ(r.entry()->propagate_from, 0u);
  r.fixed().propagate_from = 2;
  EXPECT_EQ(r.entry()->propagate_from, 2u);
}

TEST(StatmountEntry, OffsetsOutsideTheReplyAreRefused) {
  Reply r;
  r.fixed().mnt_point = 1u << 30;
  auto e = r.entry();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("mnt_point outside the reply"), std::string::npos) << e.error().message;
}

TEST(StatmountEntry, AStringWithoutItsNulIsRefused) {
  Reply r;
  r.type("ext4");
  r.strings().pop_back();  // the last string loses its NUL
  auto e = r.entry();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("has no end"), std::string::npos) << e.error().message;
}

TEST(StatmountEntry, ASizeLargerThanTheBufferIsNotTrusted) {
  Reply r;
  auto b = r.bytes();
  api::Statmount sm;
  std::memcpy(&sm, b.data(), sizeof sm);
  sm.size = 1u << 30;
  sm.fs_type = static_cast<uint32_t>(b.size());  // just past what we hold
  std::memcpy(b.data(), &sm, sizeof sm);
  EXPECT_FALSE(entry_from_statmount(b.data(), b.size()));
}

TEST(StatmountEntry, AReplyWithoutANeededFieldIsRefused) {
  Reply r;
  r.fixed().mask &= ~api::kMntPoint;
  auto e = r.entry();
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("STATMOUNT_MNT_POINT"), std::string::npos) << e.error().message;
  EXPECT_FALSE(entry_from_statmount(r.bytes().data(), 100));  // shorter than struct statmount
}

}  // namespace
}  // namespace mountleak

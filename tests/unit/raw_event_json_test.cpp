// SPDX-License-Identifier: Apache-2.0
#include "output/raw_event_json.h"

#include <sys/mount.h>

#include <gtest/gtest.h>

#include <cstring>

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

TEST(RawEventJson, MountEventCarriesPathsAndStopsAtNul) {
  ml_event e{};
  e.kind = ML_EV_MOUNT;
  e.pid = 42;
  e.flags = MS_BIND;
  std::strcpy(e.path1, "/var/lib/kubelet");
  std::strcpy(e.path2, "/rootfs/var/lib/kubelet");
  std::strcpy(e.comm, "runc:[2:INIT]");
  auto j = raw_event_json(e);
  EXPECT_EQ(j["event"], "mount");
  EXPECT_EQ(j["source"], "/var/lib/kubelet");
  EXPECT_EQ(j["target"], "/rootfs/var/lib/kubelet");
  EXPECT_EQ(j["flags"], "MS_BIND");
  EXPECT_EQ(j["comm"], "runc:[2:INIT]");
}

TEST(RawEventJson, UnterminatedStringsAreCutAtTheirField) {
  ml_event e{};
  e.kind = ML_EV_UMOUNT;
  std::memset(e.path1, 'a', sizeof(e.path1));  // no NUL at all
  auto j = raw_event_json(e);
  EXPECT_EQ(j["target"].get<std::string>().size(), sizeof(e.path1));
}

TEST(RawEventJson, BusySourceIsNamed) {
  ml_event e{};
  e.kind = ML_EV_BUSY;
  e.busy_source = ML_BUSY_RBD_REMOVE;
  std::strcpy(e.path1, "4");
  auto j = raw_event_json(e);
  EXPECT_EQ(j["source"], "rbd_remove");
  EXPECT_EQ(j["path"], "4");
}

}  // namespace
}  // namespace mountleak

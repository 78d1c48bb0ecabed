// SPDX-License-Identifier: Apache-2.0
// procfs readers that need root: entering a namespace through its nsfs file
// (CAP_SYS_ADMIN), and a block device node held open (the seed node's).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "model/mountinfo.h"
#include "seed_test_support.h"
#include "sources/fd_holders.h"
#include "sources/namespace_enumerator.h"
#include "sources/procfs.h"

namespace mountleak {
namespace {

// In a chroot (whose directory was made a mount point, or the suite would
// not have started) our root is not PID 1's.
bool chrooted() {
  struct stat ours {}, init {};
  return stat("/", &ours) == 0 && stat("/proc/1/root", &init) == 0 &&
         (ours.st_dev != init.st_dev || ours.st_ino != init.st_ino);
}

TEST(RealProc, MountinfoThroughNsfsMatchesOurOwn) {
  // Other test suites may mount things meanwhile: compare mount IDs, and
  // allow a retry. setns() moves the reader to the namespace's root, so in
  // a chroot it sees the mounts outside the chroot too: ours must be among
  // them.
  const bool in_chroot = chrooted();
  bool same = false;
  for (int attempt = 0; attempt < 3 && !same; ++attempt) {
    auto via = read_mountinfo_via_nsfs("/proc", "/proc/self/ns/mnt");
    ASSERT_TRUE(via) << via.error().message;
    auto direct = read_file("/proc/self/mountinfo");
    ASSERT_TRUE(direct);
    std::vector<uint64_t> a, b;
    for (const auto& m : parse_mountinfo(*via, "via").mounts) a.push_back(m.mount_id);
    for (const auto& m : parse_mountinfo(*direct, "direct").mounts) b.push_back(m.mount_id);
    if (in_chroot)
      same = !b.empty() && std::all_of(b.begin(), b.end(), [&](uint64_t id) {
        return std::find(a.begin(), a.end(), id) != a.end();
      });
    else
      same = !a.empty() && a == b;
  }
  EXPECT_TRUE(same);
  EXPECT_FALSE(read_mountinfo_via_nsfs("/proc", "/nonexistent/ns"));
  // Not a namespace file: refused before it is opened for real.
  auto not_ns = read_mountinfo_via_nsfs("/proc", "/proc/self/mountinfo");
  ASSERT_FALSE(not_ns);
  EXPECT_NE(not_ns.error().message.find("not a namespace file"), std::string::npos) << not_ns.error().message;
}

TEST(FdHolders, FindsOpenBlockDeviceNode) {
  auto node = testing::make_seed_node();
  ASSERT_NE(node, nullptr);
  int fd = ::open(node->device_path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << node->device_path();
  ScanCounters counters;
  const auto holders = find_fd_holders(HostPaths{}, node->dev_id(), {::getpid()}, counters);
  ::close(fd);
  auto held = std::find_if(holders.begin(), holders.end(),
                           [&](const FdHolder& h) { return h.kind == "fd" && h.fd == fd; });
  ASSERT_NE(held, holders.end());
  EXPECT_TRUE(held->device_node);
  EXPECT_EQ(held->dev, node->dev_id());
  EXPECT_EQ(held->target, node->device_path());
  node->teardown();
  EXPECT_TRUE(node->teardown_errors().empty());
}

}  // namespace
}  // namespace mountleak

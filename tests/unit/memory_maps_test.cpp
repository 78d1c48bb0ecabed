// SPDX-License-Identifier: Apache-2.0
// Memory-mapped files as holders: /proc/PID/maps lines parsed, and a file
// this test maps found on its device by find_fd_holders.

#include "sources/memory_maps.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "sources/fd_holders.h"

namespace mountleak {
namespace {

TEST(ParseMapsLine, FileBackedMapping) {
  auto m = parse_maps_line("7f2c1c000000-7f2c1c021000 r--p 00000000 fd:01 1234567    /usr/lib/libc.so.6");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->dev, (DevId{0xfd, 1}));
  EXPECT_EQ(m->inode, 1234567u);
  EXPECT_EQ(m->path, "/usr/lib/libc.so.6");
}

TEST(ParseMapsLine, WideMajorSpacesAndDeletedInPath) {
  auto m = parse_maps_line("00400000-00452000 r-xp 00000000 103:02 17 /data/my file.bin (deleted)");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->dev, (DevId{0x103, 2}));
  EXPECT_EQ(m->path, "/data/my file.bin (deleted)");
}

TEST(ParseMapsLine, AnonymousAndMalformedLinesAreNothing) {
  EXPECT_FALSE(parse_maps_line("7ffd5a1f0000-7ffd5a211000 rw-p 00000000 00:00 0          [stack]"));
  EXPECT_FALSE(parse_maps_line(""));
  EXPECT_FALSE(parse_maps_line("garbage"));
  EXPECT_FALSE(parse_maps_line("00400000-00452000 r-xp 00000000 fd01 17 /x"));
  EXPECT_FALSE(parse_maps_line("00400000-00452000 r-xp 00000000 fd:zz 17 /x"));
  EXPECT_FALSE(parse_maps_line("00400000-00452000 r-xp 00000000 fd:01 -17 /x"));
  EXPECT_FALSE(parse_maps_line("00400000-00452000 rwxpq 00000000 fd:01 17 /x"));
}

TEST(MappedFiles, AMappedFileWhoseDescriptorIsClosedStillHoldsItsDevice) {
  char path[] = "/tmp/mountleak-map-XXXXXX";
  const int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "mapped", 6), 6);
  struct stat st {};
  ASSERT_EQ(::fstat(fd, &st), 0);
  void* map = ::mmap(nullptr, 6, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  ASSERT_NE(map, MAP_FAILED);

  ScanCounters counters;
  const auto holders = find_fd_holders(HostPaths{}, DevId::from_dev_t(st.st_dev), {::getpid()}, counters);
  ::munmap(map, 6);
  ::unlink(path);
  // The libraries this test runs may be on the same file system.
  auto ours = [&](const FdHolder& h) { return h.kind == "map" && h.target == path; };
  auto it = std::find_if(holders.begin(), holders.end(), ours);
  ASSERT_NE(it, holders.end());
  EXPECT_EQ(it->pid, ::getpid());
  EXPECT_EQ(it->fd, -1);
  struct stat ns {};
  ASSERT_EQ(::stat("/proc/self/ns/mnt", &ns), 0);
  EXPECT_EQ(it->mntns, ns.st_ino);
  EXPECT_EQ(std::count_if(holders.begin(), holders.end(), ours), 1);
}

}  // namespace
}  // namespace mountleak

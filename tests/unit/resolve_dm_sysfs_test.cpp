// SPDX-License-Identifier: Apache-2.0
// Device-mapper devices from a made-up sysfs: their names, what their
// tables sit on, and the device a `dmsetup remove` named, with sysfs (and
// the names a caller passes) treated as hostile.
#include "resolve/dm_sysfs.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mountleak {
namespace {

namespace fs = std::filesystem;

class DmSysfs : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/mountleak-dmsys-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    paths_.host_root = root_.string();
    // dm-0 "vg-data" on loop3, dm-1 "crypt" (with a uuid) on dm-0 and loop4.
    add_dm("dm-0", "253:0", "vg-data\n", "", {"loop3"});
    add_dm("dm-1", "253:1", "crypt\n", "CRYPT-LUKS2-abc-crypt\n", {"loop4", "dm-0"});
    fs::create_directories(block() / "loop3");  // not a dm device
    write(block() / "loop3" / "dev", "7:3\n");
  }
  void TearDown() override { fs::remove_all(root_); }

  fs::path block() const { return root_ / "sys" / "block"; }
  static void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void add_dm(const std::string& kernel, const std::string& dev, const std::string& name, const std::string& uuid,
              const std::vector<std::string>& slaves) {
    write(block() / kernel / "dev", dev + "\n");
    write(block() / kernel / "dm" / "name", name);
    write(block() / kernel / "dm" / "uuid", uuid);
    fs::create_directories(block() / kernel / "slaves");
    for (const auto& s : slaves) write(block() / kernel / "slaves" / s, "");
  }

  fs::path root_;
  HostPaths paths_;
};

TEST_F(DmSysfs, NamesTheDeviceAndWhatItsTableSitsOn) {
  auto crypt = dm_info_for(paths_, "dm-1");
  ASSERT_TRUE(crypt);
  EXPECT_EQ(crypt->name, "crypt");
  EXPECT_EQ(crypt->uuid, "CRYPT-LUKS2-abc-crypt");
  EXPECT_EQ(crypt->slaves, (std::vector<std::string>{"dm-0", "loop4"}));
  EXPECT_FALSE(crypt->more_slaves);
  auto data = dm_info_for(paths_, "dm-0");
  ASSERT_TRUE(data);
  EXPECT_EQ(data->name, "vg-data");
  EXPECT_EQ(data->uuid, "");
}

TEST_F(DmSysfs, OtherDevicesAndOddKernelNamesAreNoDmDevice) {
  EXPECT_FALSE(dm_info_for(paths_, "loop3"));
  EXPECT_FALSE(dm_info_for(paths_, "dm-7"));     // gone
  EXPECT_FALSE(dm_info_for(paths_, "dm-0/.."));  // never a path
}

TEST_F(DmSysfs, ManySlavesAreCutAtTheBoundAndSaidToBeMore) {
  std::vector<std::string> slaves;
  for (size_t i = 0; i < kMaxDmSlaves + 10; ++i) slaves.push_back("loop" + std::to_string(100 + i));
  add_dm("dm-2", "253:2", "striped\n", "", slaves);
  auto striped = dm_info_for(paths_, "dm-2");
  ASSERT_TRUE(striped);
  EXPECT_EQ(striped->slaves.size(), kMaxDmSlaves);
  EXPECT_TRUE(striped->more_slaves);
}

TEST_F(DmSysfs, SlaveEntriesThatAreNoKernelNameAreLeftOut) {
  add_dm("dm-3", "253:3", "odd\n", "", {"loop9", "bad name\x1b[31m"});
  auto odd = dm_info_for(paths_, "dm-3");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->slaves, std::vector<std::string>{"loop9"});
}

TEST_F(DmSysfs, ARemoveIsResolvedByUuidWhenGivenElseByName) {
  EXPECT_EQ(dm_device_named(paths_, "vg-data", ""), (DevId{253, 0}));
  EXPECT_EQ(dm_device_named(paths_, "crypt", ""), (DevId{253, 1}));
  // The kernel looks a remove up by uuid when there is one: so do we.
  EXPECT_EQ(dm_device_named(paths_, "vg-data", "CRYPT-LUKS2-abc-crypt"), (DevId{253, 1}));
  EXPECT_FALSE(dm_device_named(paths_, "crypt", "no-such-uuid"));
}

TEST_F(DmSysfs, NamesThatMatchNoDeviceByteForByteResolveToNothing) {
  EXPECT_FALSE(dm_device_named(paths_, "", ""));
  EXPECT_FALSE(dm_device_named(paths_, "vg-data\n", ""));  // sysfs's newline is not part of the name
  EXPECT_FALSE(dm_device_named(paths_, "vg-dat", ""));
  EXPECT_FALSE(dm_device_named(paths_, "../../loop3", ""));
  EXPECT_FALSE(dm_device_named(paths_, std::string("vg-data\0x", 9), ""));
}

}  // namespace
}  // namespace mountleak

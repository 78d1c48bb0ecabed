// SPDX-License-Identifier: Apache-2.0
#include "resolve/ceph_names.h"

#include <gtest/gtest.h>

#include "resolve/ceph_client.h"

namespace mountleak {
namespace {

TEST(CephNames, ClientIdTakesEitherSpelling) {
  EXPECT_EQ(ceph_client_id("admin"), "admin");
  EXPECT_EQ(ceph_client_id("client.admin"), "admin");
  EXPECT_EQ(ceph_client_id("client.csi-rbd-node"), "csi-rbd-node");
  EXPECT_EQ(ceph_client_id("osd.0"), std::nullopt);
  EXPECT_EQ(ceph_client_id("client."), std::nullopt);
  EXPECT_EQ(ceph_client_id(""), std::nullopt);
}

TEST(CephNames, KernelClientIdFromSysfs) {
  EXPECT_EQ(ceph_kernel_client_global_id("client14235"), 14235);
  EXPECT_EQ(ceph_kernel_client_global_id("client"), std::nullopt);
  EXPECT_EQ(ceph_kernel_client_global_id("client.14235"), std::nullopt);
  EXPECT_EQ(ceph_kernel_client_global_id("client14235x"), std::nullopt);
  EXPECT_EQ(ceph_kernel_client_global_id(""), std::nullopt);
}

TEST(CephNames, EntityGlobalId) {
  EXPECT_EQ(ceph_entity_global_id("client.4123"), 4123);
  EXPECT_EQ(ceph_entity_global_id("client4123"), std::nullopt);
  EXPECT_EQ(ceph_entity_global_id("osd.3"), std::nullopt);
}

TEST(CephNames, SplitNulList) {
  const char buf[] = "client.1\0client.22\0";
  EXPECT_EQ(split_nul_list(buf, sizeof(buf) - 1), (std::vector<std::string>{"client.1", "client.22"}));
  EXPECT_EQ(split_nul_list("abc", 3), (std::vector<std::string>{"abc"}));  // no final NUL
  EXPECT_TRUE(split_nul_list("", 0).empty());
  const char with_empty[] = "a\0\0b";
  EXPECT_EQ(split_nul_list(with_empty, sizeof(with_empty) - 1), (std::vector<std::string>{"a", "", "b"}));
}

TEST(CephNames, MappingWatcherMatchesTheKernelClient) {
  RbdInfo mapping;
  mapping.client_id = "client14235";
  EXPECT_TRUE(is_mapping_watcher(RbdWatcher{"10.0.0.5:0/1", 14235, 18446462598732840961ULL}, mapping));
  EXPECT_FALSE(is_mapping_watcher(RbdWatcher{"10.0.0.6:0/2", 14236, 1}, mapping));
  mapping.client_id = "";  // an old kernel, or unmapped while we looked
  EXPECT_FALSE(is_mapping_watcher(RbdWatcher{"10.0.0.5:0/1", 14235, 1}, mapping));
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// HostView: a place in a file system named as the host names it, on the
// layouts real nodes have.

#include <gtest/gtest.h>

#include "findings/host_directory.h"
#include "model/host_view.h"
#include "mount_entries.h"

namespace mountleak {
namespace {

const DevId kRootDisk{254, 1};
const DevId kTmpfs{0, 40};
const DevId kKubeletDisk{8, 16};

MountEntry mount(uint64_t id, uint64_t parent, DevId dev, std::string root, std::string point) {
  return testing::mount_entry(id, parent, dev, std::move(root), std::move(point));
}

TEST(PathPrefix, WholeComponentsOnly) {
  EXPECT_TRUE(is_path_prefix("/", "/a"));
  EXPECT_TRUE(is_path_prefix("/a", "/a"));
  EXPECT_TRUE(is_path_prefix("/a", "/a/b"));
  EXPECT_FALSE(is_path_prefix("/a", "/ab"));
  EXPECT_FALSE(is_path_prefix("/a/b", "/a"));
  EXPECT_FALSE(is_path_prefix("/", ""));
  EXPECT_EQ(rebase("/x", "/a", "/a/b/c"), "/x/b/c");
  EXPECT_EQ(rebase("/", "/a", "/a/b"), "/b");
  EXPECT_EQ(rebase("/x", "/", "/b"), "/x/b");
  EXPECT_EQ(rebase("/x", "/a", "/a"), "/x");
}

TEST(HostView, TmpfsTmpIsNamedThroughItsMountPoint) {
  // The seed's failure: a bind of /tmp/seed/var/lib/kubelet shows root
  // /seed/var/lib/kubelet, a path inside the tmpfs, not on the host.
  HostView host({mount(1, 0, kRootDisk, "/", "/"), mount(2, 1, kTmpfs, "/", "/tmp")});
  auto answer = host.path_of({kTmpfs, "/seed/var/lib/kubelet"});
  ASSERT_TRUE(answer.path);
  EXPECT_EQ(*answer.path, "/tmp/seed/var/lib/kubelet");
}

TEST(HostView, KubeletDiskRootIsTheKubeletRoot) {
  HostView host({mount(1, 0, kRootDisk, "/", "/"), mount(2, 1, kKubeletDisk, "/", "/var/lib/kubelet")});
  EXPECT_EQ(host.path_of({kKubeletDisk, "/"}).path, "/var/lib/kubelet");
  EXPECT_EQ(host.path_of({kKubeletDisk, "/pods"}).path, "/var/lib/kubelet/pods");
  auto place = host.place_of("/var/lib/kubelet/pods/x");
  ASSERT_TRUE(place);
  EXPECT_EQ(*place, (FsPlace{kKubeletDisk, "/pods/x"}));
  EXPECT_EQ(host.place_of("/var/lib"), (FsPlace{kRootDisk, "/var/lib"}));
}

TEST(HostView, ABindOfTheDirectoryItselfBeatsItsWholeFileSystem) {
  // /data/kubelet bound at /var/lib/kubelet: both show the directory; the
  // bind made for it is the name the operator knows it by.
  HostView host({mount(1, 0, kRootDisk, "/", "/"), mount(2, 1, kRootDisk, "/data/kubelet", "/var/lib/kubelet")});
  EXPECT_EQ(host.path_of({kRootDisk, "/data/kubelet"}).path, "/var/lib/kubelet");
  EXPECT_EQ(host.paths_of({kRootDisk, "/data/kubelet/pods"}),
            (std::vector<std::string>{"/data/kubelet/pods", "/var/lib/kubelet/pods"}));
}

TEST(HostView, CoveredMountsNameNothing) {
  // 2 is mounted over by 3 (same point, 2 its parent); 4 sits below /mnt/a,
  // which a later sibling 5 covers; 6 is below the covered 2.
  HostView host({mount(1, 0, kRootDisk, "/", "/"), mount(2, 1, kKubeletDisk, "/", "/mnt"),
                 mount(3, 2, kTmpfs, "/", "/mnt"), mount(4, 1, DevId{7, 1}, "/", "/srv/a/b"),
                 mount(5, 1, DevId{7, 2}, "/", "/srv/a"), mount(6, 2, DevId{7, 3}, "/", "/mnt/x")});
  EXPECT_EQ(host.hidden_count(), 3u);
  EXPECT_FALSE(host.path_of({kKubeletDisk, "/"}).path);
  EXPECT_FALSE(host.path_of({DevId{7, 1}, "/"}).path);
  EXPECT_FALSE(host.path_of({DevId{7, 3}, "/"}).path);
  EXPECT_EQ(host.path_of({kTmpfs, "/"}).path, "/mnt");
  EXPECT_EQ(host.path_of({DevId{7, 2}, "/"}).path, "/srv/a");
}

TEST(HostView, UnknownPlacesSayWhy) {
  HostView host({mount(1, 0, kRootDisk, "/", "/"), mount(2, 1, kKubeletDisk, "/plugins", "/mnt/plugins")});
  auto unmounted = host.path_of({DevId{252, 0}, "/"});
  EXPECT_FALSE(unmounted.path);
  EXPECT_NE(unmounted.why_unknown.find("does not mount that device"), std::string::npos) << unmounted.why_unknown;
  auto elsewhere = host.path_of({kKubeletDisk, "/pods"});
  EXPECT_FALSE(elsewhere.path);
  EXPECT_NE(elsewhere.why_unknown.find("other parts"), std::string::npos) << elsewhere.why_unknown;
}

TEST(HostView, ParentCyclesDoNotHang) {
  HostView host({mount(1, 2, kRootDisk, "/", "/"), mount(2, 1, kTmpfs, "/", "/tmp")});
  EXPECT_EQ(host.path_of({kTmpfs, "/x"}).path, "/tmp/x");
}

TEST(HostDirectory, PodVolumesUnderAnySpelling) {
  HostDirectory kubelet;
  kubelet.spellings = {"/var/lib/kubelet", "/data/kubelet"};
  EXPECT_EQ(pod_uid_of_volume_path(kubelet, "/data/kubelet/pods/u-1/volumes/kubernetes.io~rbd/pv"), "u-1");
  EXPECT_EQ(pod_uid_of_volume_path(kubelet, "/var/lib/kubelet/pods/u-2/volumes/x"), "u-2");
  EXPECT_EQ(pod_uid_of_volume_path(kubelet, "/var/lib/kubelet/pods/u-2/plugins/x"), "");
  EXPECT_EQ(pod_uid_of_volume_path(kubelet, "/var/lib/kubelet-old/pods/u-3/volumes/x"), "");
  EXPECT_EQ(pod_uid_of_volume_path(kubelet, "/var/lib/kubelet/pods/u-4"), "");
  ASSERT_NE(kubelet.containing("/data/kubelet"), nullptr);
  EXPECT_EQ(*kubelet.containing("/data/kubelet/x"), "/data/kubelet");
  EXPECT_EQ(kubelet.containing("/data"), nullptr);
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// The collector fed recorded events and a scripted node, no kernel: which
// findings each sequence of mount-table changes produces.

#include "collector/collector.h"

#include <gtest/gtest.h>

#include "scripted_node.h"

namespace mountleak {
namespace {

using namespace std::chrono_literals;
using namespace testing::scripted;
using testing::mount_entry;

class CollectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/collector";
    paths_.device_globs = {"loop*"};
    node_.set(kHostNs, kHostPid, host_with_volume());
    collector_ = std::make_unique<Collector>(paths_, CollectorOptions{}, node_, out_);
    ASSERT_TRUE(collector_->start().ok());
  }
  // A container that pivoted into its own root and has the kubelet root
  // bound in; master != 0 makes the copy a slave of the host's mount.
  static std::vector<MountEntry> container(uint32_t master) {
    return {mount_entry(50, 49, DevId{0, 99}, "/", "/"),
            mount_entry(51, 50, kRoot, "/var/lib/kubelet", "/var/lib/kubelet", 0, master ? 1 : 0),
            mount_entry(52, 51, kRbd, "/", "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a", 0, master)};
  }
  void create_container(uint32_t master) {
    collector_->on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs));
    node_.set(kContainerNs, kContainerPid, container(master));
    collector_->on_event(event(EventKind::kMount, kContainerPid, kContainerNs));
    collector_->tick(Clock::now() + 1s);
  }
  void host_unmounts() {
    node_.set(kHostNs, kHostPid, host_root());
    collector_->on_event(event(EventKind::kUmount, kHostPid, kHostNs));
    collector_->tick(Clock::now() + 1s);
  }

  HostPaths paths_;
  ScriptedNode node_;
  RecordedOutput out_;
  std::unique_ptr<Collector> collector_;
};

TEST_F(CollectorTest, PrivateKubeletBindIsARiskAndACopy) {
  create_container(0);
  auto risks = out_.of("hostpath_risk");
  ASSERT_EQ(risks.size(), 1u);
  EXPECT_EQ(risks[0]["bind"]["source"], "/var/lib/kubelet");
  EXPECT_EQ(risks[0]["bind"]["mountpoint"], "/var/lib/kubelet");
  EXPECT_EQ(risks[0]["mntns"], kContainerNs);
  EXPECT_EQ(risks[0]["device"]["name"], "loop0");
  auto copies = out_.of("mntns_copy");
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0]["from_mntns"], kHostNs);
  EXPECT_EQ(copies[0]["creator"]["pid"], kContainerPid);
  EXPECT_EQ(copies[0]["holders"][0]["role"], "leak");
}

TEST_F(CollectorTest, SlaveBindIsNeither) {
  create_container(5);
  EXPECT_TRUE(out_.of("hostpath_risk").empty());
  EXPECT_TRUE(out_.of("mntns_copy").empty());
}

TEST_F(CollectorTest, HostUnmountWithAPrivateCopyLeft_IsALeak) {
  create_container(0);
  host_unmounts();
  auto leaks = out_.of("leak");
  ASSERT_EQ(leaks.size(), 1u);
  ASSERT_EQ(leaks[0]["holders"].size(), 1u);
  EXPECT_EQ(leaks[0]["holders"][0]["mntns"], kContainerNs);
  EXPECT_EQ(leaks[0]["unmounted_by"]["pid"], kHostPid);
}

TEST_F(CollectorTest, HostUnmountWithSlaveCopy_IsNoLeak) {
  create_container(5);
  // The kernel propagated the unmount: the slave copy is gone too.
  node_.set(kContainerNs, kContainerPid, {container(5)[0], container(5)[1]});
  host_unmounts();
  EXPECT_TRUE(out_.of("leak").empty());
}

TEST_F(CollectorTest, UmountBusyNamesHoldersAtOnce) {
  create_container(0);
  KernelEvent busy = busy_event(kHostPid, kHostNs, BusySource::kUmount, "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a/");
  busy.ret = -16;
  collector_->on_event(busy);  // no tick: busy must not wait
  auto found = out_.of("busy");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["source"], "umount");
  EXPECT_EQ(found[0]["process"]["pid"], kHostPid);
  bool names_container = false;
  for (const auto& h : found[0]["holders"]) names_container |= h["mntns"] == kContainerNs;
  EXPECT_TRUE(names_container) << found[0].dump();
}

TEST_F(CollectorTest, BusyOnAnUntrackedDeviceIsCountedNotReported) {
  KernelEvent busy = busy_event(kHostPid, kHostNs, BusySource::kUmount, "/");
  collector_->on_event(busy);
  EXPECT_TRUE(out_.of("busy").empty());
  EXPECT_EQ(collector_->stats().unresolved_busy, 1u);
}

TEST_F(CollectorTest, DeadNamespacesLeaveTheModelAtTheNextSweep) {
  create_container(0);
  ASSERT_TRUE(collector_->model().has(kContainerNs));
  // The container exits: no event says so.
  node_.pid_ns.erase(kContainerPid);
  collector_->tick(Clock::now() + 1s);  // before the liveness period: still there
  EXPECT_TRUE(collector_->model().has(kContainerNs));
  collector_->tick(Clock::now() + 3s);
  EXPECT_FALSE(collector_->model().has(kContainerNs));
  EXPECT_TRUE(collector_->model().has(kHostNs));
  EXPECT_EQ(collector_->stats().namespaces_gone, 1u);
  // Its copy went with it: the host's unmount leaks nothing.
  host_unmounts();
  EXPECT_TRUE(out_.of("leak").empty());
}

TEST_F(CollectorTest, ANamespaceADescriptorKeepsStaysAndItsLeakNamesTheDescriptor) {
  create_container(0);
  // Its last process exits, but another keeps /proc/4242/ns/mnt open.
  node_.pid_ns.erase(kContainerPid);
  node_.descriptors[kContainerNs] = DescriptorPin{kContainerNs, 777, 5};
  collector_->tick(Clock::now() + 3s);
  const MountNamespace* ns = collector_->model().find(kContainerNs);
  ASSERT_NE(ns, nullptr);
  EXPECT_TRUE(ns->pinned_only);
  EXPECT_TRUE(ns->pids.empty());
  EXPECT_EQ(ns->held_open_by, 777);
  host_unmounts();
  auto leaks = out_.of("leak");
  ASSERT_EQ(leaks.size(), 1u);
  ASSERT_EQ(leaks[0]["holders"].size(), 1u) << leaks[0].dump();
  EXPECT_EQ(leaks[0]["holders"][0]["mntns"], kContainerNs);
  EXPECT_EQ(leaks[0]["holders"][0]["held_open_by"]["pid"], 777) << leaks[0].dump();
  EXPECT_EQ(leaks[0]["holders"][0]["held_open_by"]["fd"], 5);
}

TEST_F(CollectorTest, ANamespaceKeptByADescriptorGoesWhenTheDescriptorCloses) {
  create_container(0);
  node_.pid_ns.erase(kContainerPid);
  node_.descriptors[kContainerNs] = DescriptorPin{kContainerNs, 777, 5};
  collector_->tick(Clock::now() + 3s);
  ASSERT_TRUE(collector_->model().has(kContainerNs));
  node_.descriptors.clear();  // closed: the namespace is freed
  collector_->tick(Clock::now() + 6s);
  EXPECT_FALSE(collector_->model().has(kContainerNs));
  host_unmounts();
  EXPECT_TRUE(out_.of("leak").empty());
}

TEST_F(CollectorTest, ADeadNamespaceWithoutATrackedDeviceIsNotSearchedForDescriptors) {
  // A container with only its own root: its exit must not cost a pass
  // over every process's descriptors.
  collector_->on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs));
  node_.set(kContainerNs, kContainerPid, {container(0)[0]});
  collector_->on_event(event(EventKind::kMount, kContainerPid, kContainerNs));
  collector_->tick(Clock::now() + 1s);
  node_.pid_ns.erase(kContainerPid);
  collector_->tick(Clock::now() + 3s);
  EXPECT_FALSE(collector_->model().has(kContainerNs));
  EXPECT_EQ(node_.held_open_asked, 0);
}

TEST_F(CollectorTest, BusyNamesNoContainerThatExitedBeforeTheSweep) {
  create_container(0);
  node_.pid_ns.erase(kContainerPid);  // exits; the next sweep is 2 s away
  KernelEvent e = busy_event(kHostPid, kHostNs, BusySource::kUmount, "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a");
  e.ret = -16;
  collector_->on_event(e);
  auto busy = out_.of("busy");
  ASSERT_EQ(busy.size(), 1u);
  for (const auto& h : busy[0]["holders"]) EXPECT_NE(h["mntns"], kContainerNs) << busy[0].dump();
  EXPECT_FALSE(collector_->model().has(kContainerNs));
}

TEST_F(CollectorTest, SweepLearnsOfNewMembers) {
  create_container(0);
  // The first process leaves, a child it forked stays: the namespace lives.
  node_.pid_ns.erase(kContainerPid);
  node_.pid_ns[kContainerPid + 1] = kContainerNs;
  collector_->tick(Clock::now() + 3s);
  ASSERT_TRUE(collector_->model().has(kContainerNs));
  EXPECT_EQ(collector_->model().find(kContainerNs)->pids, std::vector<int>{kContainerPid + 1});
  host_unmounts();
  EXPECT_EQ(out_.of("leak").size(), 1u);
}

TEST_F(CollectorTest, RecycledNamespaceInodeStartsClean) {
  create_container(0);
  ASSERT_EQ(out_.of("hostpath_risk").size(), 1u);
  // The container dies; a new one gets the same namespace inode.
  create_container(0);
  EXPECT_EQ(out_.of("hostpath_risk").size(), 2u);
}

TEST_F(CollectorTest, LostEventsResyncAndStillReportTheLeak) {
  create_container(0);
  // The host's unmount happened while events were being dropped.
  node_.set(kHostNs, kHostPid, host_root());
  collector_->on_lost(12);
  ASSERT_EQ(out_.of("lost").size(), 1u);
  EXPECT_EQ(out_.of("lost")[0]["count"], 12);
  collector_->tick(Clock::now());
  ASSERT_EQ(out_.of("resync").size(), 1u);
  EXPECT_EQ(out_.of("leak").size(), 1u);
}

// A collector with bounds small enough to reach with a handful of events.
class BoundedCollectorTest : public CollectorTest {
 protected:
  void restart(CollectorOptions options) {
    out_.events.clear();
    collector_ = std::make_unique<Collector>(paths_, options, node_, out_);
    ASSERT_TRUE(collector_->start().ok());
  }
  // A namespace copied from the host, with a process in it.
  void new_namespace(uint64_t inode, int pid, std::vector<MountEntry> mounts) {
    collector_->on_event(event(EventKind::kMntns, pid, inode, kHostNs));
    node_.set(inode, pid, std::move(mounts));
  }
  std::vector<nlohmann::json> degraded(const std::string& bound, const std::string& state) const {
    std::vector<nlohmann::json> out;
    for (const auto& e : out_.of("degraded"))
      if (e["bound"] == bound && e["state"] == state) out.push_back(e);
    return out;
  }
};

TEST_F(BoundedCollectorTest, ResyncsAfterLossesBackOff) {
  CollectorOptions options;
  options.resync_min_interval = 1000ms;
  options.resync_max_interval = 4000ms;
  restart(options);
  const auto t0 = Clock::now();
  collector_->on_lost(3);
  collector_->tick(t0);
  ASSERT_EQ(out_.of("resync").size(), 1u);  // the first at once

  // More losses at once: summed, and the resync waits for the interval.
  collector_->on_lost(5);
  collector_->on_lost(7);
  collector_->tick(t0 + 500ms);
  EXPECT_EQ(out_.of("resync").size(), 1u);
  EXPECT_EQ(out_.of("lost").size(), 2u);  // the first of the new losses is said at once
  collector_->tick(t0 + 1100ms);
  ASSERT_EQ(out_.of("resync").size(), 2u);
  ASSERT_EQ(out_.of("lost").size(), 3u);
  EXPECT_EQ(out_.of("lost")[1]["count"], 5);
  EXPECT_EQ(out_.of("lost")[2]["count"], 7);
  EXPECT_GE(collector_->stats().resyncs_deferred, 1u);

  // Losses keep coming: the interval doubles (2 s), up to the maximum.
  collector_->on_lost(1);
  collector_->tick(t0 + 2200ms);
  EXPECT_EQ(out_.of("resync").size(), 2u);
  collector_->tick(t0 + 3200ms);
  EXPECT_EQ(out_.of("resync").size(), 3u);
  EXPECT_EQ(collector_->bounds().resync_backoff_ms, 4000);
}

TEST_F(BoundedCollectorTest, NamespacesPastTheBoundAreLeftOutSaidAndFoundLater) {
  CollectorOptions options;
  options.max_namespaces = 4;  // the host and three more
  restart(options);
  for (int i = 0; i < 4; ++i) new_namespace(kContainerNs + i, kContainerPid + i, container(0));
  collector_->tick(Clock::now() + 1s);
  EXPECT_EQ(collector_->model().namespaces().size(), 4u);
  EXPECT_EQ(collector_->stats().namespaces_left_out, 1u);
  ASSERT_EQ(degraded("max_namespaces", "reached").size(), 1u);
  EXPECT_EQ(degraded("max_namespaces", "reached")[0]["limit"], 4);
  // Findings made meanwhile say their holders may not be all.
  ASSERT_FALSE(out_.of("mntns_copy").empty());
  EXPECT_EQ(out_.of("mntns_copy")[0]["degraded"], nlohmann::json::array({"max_namespaces"}));

  // Two exit: room again, and a resync finds the one left out.
  for (int i = 0; i < 2; ++i) node_.namespaces.erase(kContainerNs + i);
  collector_->tick(Clock::now() + 3s);  // the sweep drops them
  collector_->tick(Clock::now() + 4s);  // room: the resync
  EXPECT_TRUE(collector_->model().has(kContainerNs + 3));
  EXPECT_EQ(degraded("max_namespaces", "left").size(), 1u);
  EXPECT_TRUE(collector_->degraded().empty());
}

TEST_F(BoundedCollectorTest, ALeakMadeWhileItsHolderWasLeftOutIsFoundByTheResync) {
  CollectorOptions options;
  options.max_namespaces = 4;
  restart(options);
  constexpr uint64_t kFiller = kContainerNs + 100;
  for (int i = 0; i < 3; ++i) new_namespace(kFiller + i, kContainerPid + 100 + i, host_root());
  create_container(0);  // left out: the model is full
  ASSERT_FALSE(collector_->model().has(kContainerNs));
  host_unmounts();
  EXPECT_TRUE(out_.of("leak").empty());  // its holder is not known yet

  for (int i = 0; i < 2; ++i) node_.namespaces.erase(kFiller + i);
  collector_->tick(Clock::now() + 3s);
  auto leaks = out_.of("leak");
  ASSERT_EQ(leaks.size(), 1u) << nlohmann::json(out_.events).dump();
  EXPECT_EQ(leaks[0]["found_by"], "resync");
  EXPECT_EQ(leaks[0]["holders"][0]["mntns"], kContainerNs);
}

TEST_F(BoundedCollectorTest, MountsPastTheBoundKeepTheTrackedOnesAndTheLeakIsReported) {
  CollectorOptions options;
  options.max_mounts = 3;  // the host's two, and one more
  restart(options);
  create_container(0);
  const MountNamespace* copy = collector_->model().find(kContainerNs);
  ASSERT_NE(copy, nullptr);
  EXPECT_TRUE(copy->trimmed);
  ASSERT_EQ(copy->mounts.size(), 1u);  // the volume's mount only
  EXPECT_EQ(copy->mounts[0].dev, kRbd);
  EXPECT_LE(collector_->model().mount_count(), 3u);
  ASSERT_EQ(degraded("max_mounts", "reached").size(), 1u);

  host_unmounts();
  auto leaks = out_.of("leak");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0]["holders"][0]["mntns"], kContainerNs);
  EXPECT_EQ(leaks[0]["degraded"], nlohmann::json::array({"max_mounts"}));
}

TEST_F(BoundedCollectorTest, ATableTooLargeToReadKeepsTheOneReadBefore) {
  create_container(0);
  node_.oversized.insert(kContainerNs);
  collector_->on_event(event(EventKind::kMount, kContainerPid, kContainerNs));
  collector_->tick(Clock::now() + 1s);
  EXPECT_EQ(collector_->stats().mountinfo_too_large, 1u);
  ASSERT_EQ(degraded("max_mountinfo_bytes", "reached").size(), 1u);
  const MountNamespace* ns = collector_->model().find(kContainerNs);
  ASSERT_NE(ns, nullptr);
  EXPECT_EQ(ns->mounts.size(), container(0).size());
  EXPECT_EQ(ns->pids, std::vector<int>{kContainerPid});  // not taken for gone
}

TEST_F(BoundedCollectorTest, ATickReadsWhatItsSliceAllowsAndLeavesTheRest) {
  CollectorOptions options;
  options.reconcile_slice = 0ms;  // one namespace a tick
  restart(options);
  new_namespace(kContainerNs, kContainerPid, container(0));
  new_namespace(kContainerNs + 1, kContainerPid + 1, container(0));
  collector_->tick(Clock::now() + 1s);
  EXPECT_EQ(collector_->stats().reconciles, 1u);
  EXPECT_EQ(collector_->stats().reconcile_slices_spent, 1u);
  collector_->tick(Clock::now() + 1s);
  EXPECT_EQ(collector_->stats().reconciles, 2u);
}

}  // namespace
}  // namespace mountleak

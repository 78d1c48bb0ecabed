// SPDX-License-Identifier: Apache-2.0
// leak_resolved: the collector says when a leak it reported is over, so
// that metrics can drop the leak's series and the log can tell when.

#include <gtest/gtest.h>

#include "collector/collector.h"
#include "scripted_node.h"

namespace mountleak {
namespace {

using namespace std::chrono_literals;
using namespace testing::scripted;
using testing::mount_entry;

class LeakResolvedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/collector";
    paths_.device_globs = {"loop*"};
    node_.set(kHostNs, kHostPid, host_with_volume());
    collector_ = std::make_unique<Collector>(paths_, CollectorOptions{}, node_, out_);
    ASSERT_TRUE(collector_->start().ok());
    // A log collector binds the kubelet root in with private propagation...
    collector_->on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs));
    node_.set(kContainerNs, kContainerPid, container_with_copy());
    collector_->on_event(event(EventKind::kMount, kContainerPid, kContainerNs));
    tick(1s);
    // ...and the host unmounts the volume: its copy keeps the device.
    node_.set(kHostNs, kHostPid, host_root());
    collector_->on_event(event(EventKind::kUmount, kHostPid, kHostNs));
    tick(1s);
    ASSERT_EQ(out_.of("leak").size(), 1u);
  }
  static std::vector<MountEntry> container_without_copy() {
    return {mount_entry(50, 49, DevId{0, 99}, "/", "/"),
            mount_entry(51, 50, kRoot, "/var/lib/kubelet", "/var/lib/kubelet")};
  }
  static std::vector<MountEntry> container_with_copy() {
    auto m = container_without_copy();
    m.push_back(mount_entry(52, 51, kRbd, "/", "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a"));
    return m;
  }
  void tick(std::chrono::seconds later) { collector_->tick(Clock::now() + later); }

  HostPaths paths_;
  ScriptedNode node_;
  RecordedOutput out_;
  std::unique_ptr<Collector> collector_;
};

TEST_F(LeakResolvedTest, StaysOpenWhileTheCopyIsHeld) {
  tick(1s);
  tick(3s);
  EXPECT_TRUE(out_.of("leak_resolved").empty());
  EXPECT_EQ(collector_->hostpath_risks_now(), 1u);
}

TEST_F(LeakResolvedTest, TheHolderExitingResolvesIt) {
  node_.pid_ns.erase(kContainerPid);  // the container is restarted: no event says so
  tick(3s);                           // the sweep finds its namespace gone
  auto resolved = out_.of("leak_resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0]["reason"], "copies_gone");
  EXPECT_EQ(resolved[0]["device"]["name"], "loop0");
  EXPECT_EQ(collector_->hostpath_risks_now(), 0u);
  tick(6s);
  EXPECT_EQ(out_.of("leak_resolved").size(), 1u) << "said once";
}

TEST_F(LeakResolvedTest, TheHolderUnmountingItsCopyResolvesIt) {
  node_.set(kContainerNs, kContainerPid, container_without_copy());
  collector_->on_event(event(EventKind::kUmount, kContainerPid, kContainerNs));
  tick(1s);
  auto resolved = out_.of("leak_resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0]["reason"], "copies_gone");
}

TEST_F(LeakResolvedTest, TheHostMountingItAgainResolvesIt) {
  node_.set(kHostNs, kHostPid, host_with_volume());
  collector_->on_event(event(EventKind::kMount, kHostPid, kHostNs));
  tick(1s);
  auto resolved = out_.of("leak_resolved");
  ASSERT_EQ(resolved.size(), 1u);
  EXPECT_EQ(resolved[0]["reason"], "host_mounted_again");
}

TEST_F(LeakResolvedTest, ALeakAfterTheResolutionIsReportedAgain) {
  node_.set(kHostNs, kHostPid, host_with_volume());
  collector_->on_event(event(EventKind::kMount, kHostPid, kHostNs));
  tick(1s);
  node_.set(kHostNs, kHostPid, host_root());
  collector_->on_event(event(EventKind::kUmount, kHostPid, kHostNs));
  tick(1s);
  EXPECT_EQ(out_.of("leak").size(), 2u);
}

}  // namespace
}  // namespace mountleak

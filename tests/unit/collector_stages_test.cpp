// SPDX-License-Identifier: Apache-2.0
// The collector's stages one at a time, on a scripted node: ingest turns
// events into dirty namespaces, the reconciler re-reads them and what they
// propagate to, each detector judges what it is handed. collector_test.cpp
// runs them together.

#include <gtest/gtest.h>

#include "collector/bounds.h"
#include "collector/copy_detector.h"
#include "collector/dirty_set.h"
#include "collector/ingest.h"
#include "collector/leak_detector.h"
#include "collector/node_state.h"
#include "collector/reconciler.h"
#include "scripted_node.h"

namespace mountleak {
namespace {

using namespace std::chrono_literals;
using namespace testing::scripted;
using testing::mount_entry;

constexpr uint64_t kPeerNs = 4026532400;
constexpr int kPeerPid = 4343;

// A container with the kubelet root bound in privately (no master).
std::vector<MountEntry> private_copy() {
  return {mount_entry(50, 49, DevId{0, 99}, "/", "/"),
          mount_entry(51, 50, kRoot, "/var/lib/kubelet", "/var/lib/kubelet"),
          mount_entry(52, 51, kRbd, "/", "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a")};
}

class StagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/collector";
    paths_.device_globs = {"loop*"};
    scripted_.set(kHostNs, kHostPid, host_with_volume());
    auto snap = scripted_.snapshot(SnapshotLimits{});
    ASSERT_TRUE(snap);
    node_.reset(std::move(*snap));
  }
  void forget(uint64_t inode) { forgotten_.push_back(inode); }

  HostPaths paths_;
  CollectorOptions options_;
  ScriptedNode scripted_;
  RecordedOutput out_;
  NodeState node_{paths_, options_, scripted_, out_};
  DirtySet dirty_;
  Bounds bounds_{node_};
  std::vector<uint64_t> forgotten_;
  Ingest ingest_{node_, bounds_, dirty_, [this](uint64_t inode) { forget(inode); }};
  Reconciler reconciler_{node_, bounds_, dirty_, [this](uint64_t inode) {
                           node_.model.remove(inode);
                           forget(inode);
                         }};
};

TEST_F(StagesTest, IngestMarksANewNamespaceDirtyAndYoung) {
  const auto now = Clock::now();
  ingest_.on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs), now);
  EXPECT_EQ(forgotten_, std::vector<uint64_t>{kContainerNs}) << "a reused inode starts clean";
  EXPECT_TRUE(node_.model.has(kContainerNs));
  EXPECT_TRUE(dirty_.contains(kContainerNs));
  const Ingest::YoungNamespace* young = ingest_.young(kContainerNs, now);
  ASSERT_NE(young, nullptr);
  EXPECT_EQ(young->from, kHostNs);
  EXPECT_EQ(young->creator.pid, kContainerPid);
  EXPECT_EQ(ingest_.young(kContainerNs, now + options_.young + 1s), nullptr);
}

TEST_F(StagesTest, ExecSeenInAKnownNamespaceOnlyAddsItsTask) {
  const auto now = Clock::now();
  ingest_.on_event(event(EventKind::kMntns, kContainerPid, kContainerNs, kHostNs), now);
  forgotten_.clear();
  dirty_.clear();
  ingest_.on_event(seen_at_exec(kPeerPid, kContainerNs, kHostNs), now + 1s);
  EXPECT_TRUE(forgotten_.empty()) << "a namespace seen again is not a new one";
  EXPECT_FALSE(dirty_.contains(kContainerNs));
  const auto& pids = node_.model.find(kContainerNs)->pids;
  EXPECT_NE(std::find(pids.begin(), pids.end(), kPeerPid), pids.end());
}

TEST_F(StagesTest, ExecSeenInAnUnknownNamespaceReadsItAsNew) {
  const auto now = Clock::now();
  ingest_.on_event(seen_at_exec(kContainerPid, kContainerNs, kHostNs), now);
  EXPECT_TRUE(node_.model.has(kContainerNs));
  EXPECT_TRUE(dirty_.contains(kContainerNs));
  const Ingest::YoungNamespace* young = ingest_.young(kContainerNs, now);
  ASSERT_NE(young, nullptr);
  EXPECT_EQ(young->from, kHostNs);
}

TEST_F(StagesTest, SweepFindsANamespaceNoEventTold) {
  scripted_.set(kContainerNs, kContainerPid, private_copy());
  reconciler_.discover_namespaces(Clock::now());
  EXPECT_TRUE(node_.model.has(kContainerNs));
  EXPECT_TRUE(dirty_.contains(kContainerNs));
  EXPECT_FALSE(dirty_.contains(kHostNs)) << "a namespace the model holds is not read again";
  EXPECT_EQ(node_.stats.namespaces_found_by_sweep, 1u);
}

TEST_F(StagesTest, IngestRemembersWhoMountedLast) {
  ingest_.on_event(event(EventKind::kMount, kContainerPid, kContainerNs), Clock::now());
  const Ingest::Trigger* t = ingest_.last_trigger(kContainerNs);
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->pid, kContainerPid);
  EXPECT_EQ(t->comm, "test");
  ingest_.forget(kContainerNs);
  EXPECT_EQ(ingest_.last_trigger(kContainerNs), nullptr);
}

TEST_F(StagesTest, IngestIgnoresPropagationIntoUnknownNamespaces) {
  ingest_.on_event(event(EventKind::kPropagateMount, kContainerPid, kContainerNs), Clock::now());
  EXPECT_FALSE(dirty_.contains(kContainerNs));
  ingest_.on_event(event(EventKind::kPropagateMount, kHostPid, kHostNs), Clock::now());
  EXPECT_TRUE(dirty_.contains(kHostNs));
}

TEST_F(StagesTest, DirtyNamespacesWaitForTheirEventsToSettle) {
  const auto t0 = Clock::now();
  dirty_.mark(kContainerNs, t0);
  EXPECT_TRUE(dirty_.due(t0, options_, false).empty());
  EXPECT_EQ(dirty_.due(t0, options_, true), std::vector<uint64_t>{kContainerNs});
  EXPECT_EQ(dirty_.due(t0 + options_.settle, options_, false), std::vector<uint64_t>{kContainerNs});
  // Events that keep coming postpone it, but not past max_delay.
  for (auto t = t0; t < t0 + options_.max_delay; t += options_.settle / 2) dirty_.mark(kContainerNs, t);
  EXPECT_EQ(dirty_.due(t0 + options_.max_delay, options_, false), std::vector<uint64_t>{kContainerNs});
}

TEST_F(StagesTest, BoundsLeaveOutNamespacesPastTheLimitAndSaySoOnce) {
  options_.max_namespaces = 1;  // the host's alone
  EXPECT_FALSE(bounds_.admit_namespace(kContainerNs, kContainerPid, kHostNs));
  EXPECT_FALSE(bounds_.admit_namespace(kPeerNs, kPeerPid, kHostNs));
  EXPECT_EQ(node_.stats.namespaces_left_out, 2u);
  ASSERT_EQ(out_.of("degraded").size(), 1u);
  EXPECT_EQ(out_.of("degraded")[0]["bound"], "max_namespaces");
  EXPECT_EQ(node_.degraded, std::set<std::string>{"max_namespaces"});
}

TEST_F(StagesTest, ReconcilerFollowsPropagationToPeers) {
  // A second namespace holds a peer of the host's root (shared:1): a mount
  // on the host's root propagates there, so both are re-read.
  scripted_.set(kPeerNs, kPeerPid, {mount_entry(60, 0, kRoot, "/", "/", 1)});
  node_.model.add_namespace(kPeerNs, kPeerPid, 0);
  node_.model.replace_mounts(kPeerNs, scripted_.namespaces.at(kPeerNs).mounts);
  auto host = host_with_volume();
  host.push_back(mount_entry(11, 1, DevId{0, 50}, "/", "/mnt/new", 0));
  scripted_.set(kHostNs, kHostPid, host);
  dirty_.mark(kHostNs, Clock::now());

  std::vector<uint64_t> reread;
  reconciler_.reconcile_due(Clock::now(), Clock::now() + 1s, true, [&](const auto& group) {
    for (const auto& r : group) reread.push_back(r.inode);
  });
  EXPECT_EQ(reread, (std::vector<uint64_t>{kHostNs, kPeerNs}));
  EXPECT_EQ(node_.stats.reconciles, 2u);
}

TEST_F(StagesTest, ReconcilerForgetsANamespaceWhoseProcessesAreGone) {
  node_.model.add_namespace(kContainerNs, kContainerPid, kHostNs);
  dirty_.mark(kContainerNs, Clock::now());
  reconciler_.reconcile_due(Clock::now(), Clock::now() + 1s, true, [](const auto&) {});
  EXPECT_FALSE(node_.model.has(kContainerNs));
  EXPECT_EQ(node_.stats.namespaces_gone, 1u);
  EXPECT_EQ(forgotten_, std::vector<uint64_t>{kContainerNs});
}

TEST_F(StagesTest, LeakDetectorNamesThePrivateCopyLeft) {
  scripted_.set(kContainerNs, kContainerPid, private_copy());
  node_.model.add_namespace(kContainerNs, kContainerPid, 0);
  node_.model.replace_mounts(kContainerNs, private_copy());
  const std::set<DevId> before = node_.tracked_devices_in(kHostNs);
  node_.model.replace_mounts(kHostNs, host_root());
  LeakDetector leaks(node_, ingest_, reconciler_);
  leaks.judge(kHostNs, before);
  auto found = out_.of("leak");
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0]["holders"][0]["mntns"], kContainerNs);
  EXPECT_EQ(found[0]["holders"][0]["role"], "leak");
  leaks.judge(kHostNs, before);
  EXPECT_EQ(out_.of("leak").size(), 1u) << "reported once";
}

TEST_F(StagesTest, CopyDetectorExplainsACopyByItsBind) {
  scripted_.set(kContainerNs, kContainerPid, private_copy());
  node_.model.add_namespace(kContainerNs, kContainerPid, 0);
  node_.model.replace_mounts(kContainerNs, private_copy());
  CopyDetector copies(node_, ingest_);
  copies.judge(kContainerNs, Clock::now());
  auto risks = out_.of("hostpath_risk");
  ASSERT_EQ(risks.size(), 1u);
  EXPECT_EQ(risks[0]["bind"]["source"], "/var/lib/kubelet");
  EXPECT_EQ(risks[0]["bind"]["propagation"], "private");
  EXPECT_TRUE(out_.of("mntns_copy").empty()) << "not a young namespace";
  copies.judge(kContainerNs, Clock::now());
  EXPECT_EQ(out_.of("hostpath_risk").size(), 1u) << "reported once";
}

}  // namespace
}  // namespace mountleak

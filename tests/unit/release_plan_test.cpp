// SPDX-License-Identifier: Apache-2.0
// release's judgement without a kernel: which holders it acts on, the
// order of their mount points, and why it leaves the rest alone.

#include <gtest/gtest.h>

#include "output/release_output.h"
#include "release/release_plan.h"

namespace mountleak {
namespace {

DeviceHolders device_with(std::vector<Holder> holders) {
  DeviceHolders d;
  d.device.dev = DevId{252, 0};
  d.device.kernel_name = "rbd0";
  d.device.path = "/dev/rbd0";
  d.holders = std::move(holders);
  return d;
}

Holder holder(HolderRole role, uint64_t mntns, std::vector<int> pids, std::vector<std::string> mountpoints) {
  Holder h;
  h.role = role;
  h.mntns = mntns;
  h.who.pids = std::move(pids);
  h.mountpoints = std::move(mountpoints);
  if (!h.mountpoints.empty()) h.mountpoint = h.mountpoints.front();
  h.propagation = role == HolderRole::kFollower ? "slave" : "private";
  return h;
}

const std::string kGlobal = "/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/kube-image-x";
const std::string kPodVolume = "/var/lib/kubelet/pods/uid/volumes/kubernetes.io~rbd/pvc-x";

TEST(ReleasePlan, ActsOnlyOnLeaksAndSaysWhyForTheRest) {
  Holder owner = holder(HolderRole::kOwner, 20, {200}, {"/data"});
  owner.who.pod = PodRef{"default", "web-0", "uid"};
  Holder fd = holder(HolderRole::kFd, 30, {300}, {});
  fd.who.processes.push_back({300, "backup", {}});
  FdHolder open;
  open.pid = 300;
  open.fd = 4;
  open.target = "/dev/rbd0";
  open.device_node = true;
  fd.fds.push_back(open);
  Holder stacked;
  stacked.role = HolderRole::kStacked;
  stacked.stacked_device = "dm-3";
  auto steps = plan_release(device_with({holder(HolderRole::kHost, 1, {1}, {kGlobal, kPodVolume}), owner,
                                         holder(HolderRole::kFollower, 40, {400}, {kGlobal}),
                                         holder(HolderRole::kLeak, 50, {500, 501}, {kGlobal, kPodVolume}), fd,
                                         stacked}),
                            {});
  ASSERT_EQ(steps.size(), 6u);
  EXPECT_EQ(steps[0].action, ReleaseAction::kKept);
  EXPECT_NE(steps[0].reason.find("host"), std::string::npos) << steps[0].reason;
  EXPECT_TRUE(steps[0].unmount.empty());
  EXPECT_EQ(steps[1].action, ReleaseAction::kKept);
  EXPECT_NE(steps[1].reason.find("pod default/web-0"), std::string::npos) << steps[1].reason;
  EXPECT_NE(steps[1].reason.find("never touched"), std::string::npos) << steps[1].reason;
  EXPECT_EQ(steps[2].action, ReleaseAction::kKept);
  EXPECT_NE(steps[2].reason.find("host's unmount"), std::string::npos) << steps[2].reason;
  EXPECT_EQ(steps[3].action, ReleaseAction::kPlanned);
  EXPECT_EQ(steps[3].door.pids, (std::vector<int>{500, 501}));
  EXPECT_EQ(steps[4].action, ReleaseAction::kRefused);
  EXPECT_NE(steps[4].reason.find("PID 300 (backup)"), std::string::npos) << steps[4].reason;
  EXPECT_NE(steps[4].reason.find("/dev/rbd0 open"), std::string::npos) << steps[4].reason;
  EXPECT_EQ(steps[5].action, ReleaseAction::kRefused);
  EXPECT_NE(steps[5].reason.find("/dev/dm-3"), std::string::npos) << steps[5].reason;
  EXPECT_NE(steps[5].reason.find("dmsetup remove"), std::string::npos) << steps[5].reason;
  for (const auto& s : steps)
    if (s.action != ReleaseAction::kPlanned) {
      EXPECT_TRUE(s.unmount.empty()) << s.reason;
    }
}

TEST(ReleasePlan, DeepestMountPointFirst) {
  auto steps = plan_release(
      device_with({holder(HolderRole::kLeak, 50, {500}, {"/a", "/a/b/c", "/z", "/a/b", "/a/b/c"})}), {});
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].unmount, (std::vector<std::string>{"/a/b/c", "/a/b/c", "/a/b", "/z", "/a"}));
  EXPECT_EQ(deepest_first({kGlobal, kGlobal + "/sub"}).front(), kGlobal + "/sub");
}

TEST(ReleasePlan, LazyIsCarriedIntoEachPlannedStep) {
  ReleaseOptions lazy;
  lazy.lazy = true;
  auto steps = plan_release(device_with({holder(HolderRole::kHost, 1, {1}, {kGlobal}),
                                         holder(HolderRole::kLeak, 50, {500}, {kGlobal})}),
                            {}, lazy);
  EXPECT_FALSE(steps[0].lazy);
  EXPECT_TRUE(steps[1].lazy);
}

TEST(ReleasePlan, PinnedNamespaceIsEnteredThroughThePinnersRoot) {
  Holder pinned = holder(HolderRole::kLeak, 60, {}, {kGlobal});
  pinned.pinned_at = "/run/pins/mnt";
  NamespaceMembers members;
  members.pids[70] = {700, 701};
  members.pinned_from[60] = 70;
  auto steps = plan_release(device_with({pinned}), members);
  ASSERT_EQ(steps[0].action, ReleaseAction::kPlanned) << steps[0].reason;
  EXPECT_TRUE(steps[0].door.pids.empty());
  EXPECT_EQ(steps[0].door.pin_path, "/run/pins/mnt");
  EXPECT_EQ(steps[0].door.pin_root_pids, (std::vector<int>{700, 701}));

  // A pin inside a namespace nobody is in: no root to resolve it in.
  auto nested = plan_release(device_with({pinned}), {});
  EXPECT_EQ(nested[0].action, ReleaseAction::kRefused);
  EXPECT_NE(nested[0].reason.find("pins within pins"), std::string::npos) << nested[0].reason;
}

TEST(ReleasePlan, LeakWithoutAWayInIsRefused) {
  auto steps = plan_release(device_with({holder(HolderRole::kLeak, 60, {}, {kGlobal})}), {});
  EXPECT_EQ(steps[0].action, ReleaseAction::kRefused);
  EXPECT_NE(steps[0].reason.find("nothing to enter it by"), std::string::npos) << steps[0].reason;
}

TEST(ReleasePlan, ANamespaceAnotherProcesssDescriptorKeepsIsRefusedNamingIt) {
  Holder held = holder(HolderRole::kLeak, 60, {}, {kGlobal});
  held.held_open_by = 4242;
  held.held_open_fd = 7;
  auto steps = plan_release(device_with({held}), {});
  EXPECT_EQ(steps[0].action, ReleaseAction::kRefused);
  EXPECT_NE(steps[0].reason.find("descriptor 7 of process 4242"), std::string::npos) << steps[0].reason;
}

TEST(ReleasePlan, HostileMountPointsAreRefused) {
  for (const std::string& bad : {std::string("/"), std::string("relative/path"), std::string("/a\0b", 4),
                                 std::string(5000, 'a').insert(0, "/")}) {
    auto steps = plan_release(device_with({holder(HolderRole::kLeak, 50, {500}, {kGlobal, bad})}), {});
    EXPECT_EQ(steps[0].action, ReleaseAction::kRefused) << bad.substr(0, 20);
    EXPECT_TRUE(steps[0].unmount.empty());
  }
}

TEST(ReleasePlan, WhatNeedsTheOperator) {
  auto steps = plan_release(device_with({holder(HolderRole::kHost, 1, {1}, {kGlobal}),
                                         holder(HolderRole::kLeak, 50, {500}, {kGlobal})}),
                            {});
  EXPECT_FALSE(step_needs_operator(steps[0]));  // kept: nothing wrong
  EXPECT_TRUE(step_needs_operator(steps[1]));   // planned: still leaked
  steps[1].action = ReleaseAction::kDone;
  EXPECT_FALSE(step_needs_operator(steps[1]));
}

TEST(ReleaseOutput, JsonLineNamesActionReasonAndErrno) {
  auto steps = plan_release(device_with({holder(HolderRole::kLeak, 50, {500}, {kGlobal, kPodVolume})}), {});
  ReleaseStep& s = steps[0];
  s.action = ReleaseAction::kFailed;
  s.errno_name = "EBUSY";
  s.reason = "umount2 x: Device or resource busy";
  s.failed_at = s.unmount.front();
  auto j = release_step_json(s, false, std::chrono::system_clock::now());
  EXPECT_EQ(j["event"], "release");
  EXPECT_EQ(j["action"], "failed");
  EXPECT_EQ(j["errno"], "EBUSY");
  EXPECT_EQ(j["mntns"], 50);
  EXPECT_EQ(j["device"]["path"], "/dev/rbd0");
  EXPECT_EQ(j["mountpoints"].size(), 2u);
  EXPECT_EQ(j["failed_at"], s.unmount.front());
  const std::string text = release_step_text(s);
  EXPECT_NE(text.find("FAILED"), std::string::npos) << text;
  EXPECT_NE(text.find("EBUSY"), std::string::npos) << text;
}

TEST(ReleaseOutput, TextEscapesMountPointsFromTheNode) {
  auto steps = plan_release(device_with({holder(HolderRole::kLeak, 50, {500}, {"/x\n\x1b[2Jy"})}), {});
  const std::string text = release_step_text(steps[0]);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_NE(text.find("\\x0a"), std::string::npos) << text;
}

}  // namespace
}  // namespace mountleak

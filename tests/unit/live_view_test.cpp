// SPDX-License-Identifier: Apache-2.0
// The live view and the JSON of typed records: the same finding read both
// ways says the same thing, and text from the node stays on its line.

#include "output/live_view.h"

#include <gtest/gtest.h>

#include "output/record_json.h"

namespace mountleak {
namespace {

Leak leak_held_by_a_collector() {
  Leak leak;
  leak.device.dev = DevId{7, 0};
  leak.device.path = "/dev/loop0";
  Holder h;
  h.role = HolderRole::kLeak;
  h.mntns = 4026532300;
  h.mountpoint = "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a";
  h.who.processes.push_back(ProcessRef{4242, "fluent-bit", {}});
  h.who.pod = PodRef{"logging", "fluent-bit-x7k2p", "uid-1"};
  h.hint = "set mountPropagation: HostToContainer";
  leak.holders.push_back(h);
  leak.unmounted_by = Culprit{1, "kubelet\nFAKE LINE", {}};
  return leak;
}

Record at_noon(Event event) {
  // 2026-12-02T12:00:00Z
  return Record{std::chrono::system_clock::time_point{std::chrono::seconds{1796212800}}, std::move(event)};
}

TEST(LiveView, LeakNamesDeviceHolderPodAndHint) {
  const std::string text = live_view_text(at_noon(leak_held_by_a_collector()));
  EXPECT_EQ(text.rfind("12:00:00 LEAK /dev/loop0 (7:0): the host unmounted it", 0), 0u) << text;
  EXPECT_NE(text.find("leak     mntns 4026532300 fluent-bit[4242]  pod logging/fluent-bit-x7k2p  at "
                      "/var/lib/kubelet/plugins/rbd/mounts/pool-image-a\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("hint set mountPropagation: HostToContainer\n"), std::string::npos) << text;
}

TEST(LiveView, TextFromTheNodeCannotStartALine) {
  const std::string text = live_view_text(at_noon(leak_held_by_a_collector()));
  EXPECT_EQ(text.find("\nFAKE LINE"), std::string::npos) << text;
}

TEST(RecordJson, LeakCarriesTheSameFacts) {
  const auto j = record_json(at_noon(leak_held_by_a_collector()));
  EXPECT_EQ(j["event"], "leak");
  EXPECT_EQ(j["time"], "2026-12-02T12:00:00.000000Z");
  EXPECT_EQ(j["device"]["path"], "/dev/loop0");
  EXPECT_EQ(j["holders"][0]["mntns"], 4026532300u);
  EXPECT_EQ(j["unmounted_by"]["pid"], 1);
  EXPECT_EQ(j["unmounted_by"]["comm"], "kubelet\nFAKE LINE");  // json_line escapes it
  EXPECT_FALSE(j.contains("found_by"));
  EXPECT_FALSE(j.contains("degraded"));
}

TEST(RecordJson, DegradedSaysReachedAndLeft) {
  const auto reached = event_json(Degraded{"max_mounts", true, 1024, "trimmed"});
  EXPECT_EQ(reached["state"], "reached");
  EXPECT_EQ(reached["limit"], 1024);
  const auto left = event_json(Degraded{"max_mounts", false, 0, ""});
  EXPECT_EQ(left["state"], "left");
  EXPECT_FALSE(left.contains("limit"));
}

}  // namespace
}  // namespace mountleak

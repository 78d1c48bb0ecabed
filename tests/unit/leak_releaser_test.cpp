// SPDX-License-Identifier: Apache-2.0
// trace --release-leaks without a kernel: --release-scope's selectors, what
// the releaser decides for each holder a leak names, that it waits for no
// child, and the release record as trace prints it. The real unmounts are
// tests/privileged/trace_release_test.cpp.

#include <gtest/gtest.h>

#include <thread>

#include "output/live_view.h"
#include "output/record_json.h"
#include "release/leak_releaser.h"

namespace mountleak {
namespace {

using namespace std::chrono_literals;

class Collected : public RecordSink {
 public:
  void write(const Record& record) override {
    if (const auto* r = std::get_if<Release>(&record.event)) steps.push_back(r->step);
  }
  bool wants_raw() const override { return false; }
  std::vector<ReleaseStep> steps;
};

Holder holder(HolderRole role, uint64_t mntns, std::vector<int> pids, const std::string& pod_namespace) {
  Holder h;
  h.role = role;
  h.mntns = mntns;
  h.who.pids = std::move(pids);
  h.mountpoints = {"/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/kube-image-x"};
  h.mountpoint = h.mountpoints.front();
  h.propagation = "private";
  if (!pod_namespace.empty()) h.who.pod = PodRef{pod_namespace, "pod-" + std::to_string(mntns), "uid"};
  return h;
}

Record leak_of(std::vector<Holder> holders) {
  Leak leak;
  leak.device.dev = DevId{252, 0};
  leak.device.path = "/dev/rbd0";
  leak.holders = std::move(holders);
  return Record{std::chrono::system_clock::now(), std::move(leak)};
}

const ReleaseStep* step_of(const Collected& out, uint64_t mntns) {
  for (const auto& s : out.steps)
    if (s.holder.mntns == mntns) return &s;
  return nullptr;
}

NamespaceMembers no_members(const std::vector<Holder>&) { return {}; }

TEST(ReleaseScope, AcceptsANamespaceOrALabel) {
  auto ns = parse_scope_selector("namespace=logging");
  ASSERT_TRUE(ns) << ns.error().message;
  EXPECT_EQ(ns->pod_namespace, "logging");
  EXPECT_EQ(scope_selector_text(*ns), "namespace=logging");
  auto label = parse_scope_selector("label=app.kubernetes.io/name=fluent-bit");
  ASSERT_TRUE(label) << label.error().message;
  EXPECT_EQ(label->label_key, "app.kubernetes.io/name");
  EXPECT_EQ(label->label_value, "fluent-bit");
  EXPECT_EQ(scope_selector_text(*label), "label=app.kubernetes.io/name=fluent-bit");
  auto empty_value = parse_scope_selector("label=tier=");
  ASSERT_TRUE(empty_value);  // Kubernetes allows an empty value
  for (const char* bad : {"namespace=", "namespace=Logging", "namespace=a/b", "logging", "pod=x", "", "label=",
                          "label=app", "label==x"})
    EXPECT_FALSE(parse_scope_selector(bad)) << bad;
  EXPECT_FALSE(parse_scope_selector("label=a=" + std::string(64, 'v')));
}

TEST(ReleaseScope, ALabelMatchesThePodsLabelOnly) {
  Holder h;
  h.who.pod = PodRef{"logging", "fluentd-x", "uid"};
  h.who.pod->labels = {{"app", "fluentd"}};
  EXPECT_TRUE(in_release_scope(h, {*parse_scope_selector("label=app=fluentd")}));
  EXPECT_FALSE(in_release_scope(h, {*parse_scope_selector("label=app=fluent-bit")}));
  EXPECT_FALSE(in_release_scope(h, {*parse_scope_selector("label=tier=fluentd")}));
  // Any selector will do.
  EXPECT_TRUE(in_release_scope(h, {*parse_scope_selector("label=app=x"), *parse_scope_selector("namespace=logging")}));
  h.who.pod->labels.clear();  // a containerd pod: no labels known
  EXPECT_FALSE(in_release_scope(h, {*parse_scope_selector("label=app=fluentd")}));
}

TEST(ReleaseScope, AHolderWithNoPodNeverMatches) {
  const std::vector<ScopeSelector> scope = {{"logging"}, {"monitoring"}};
  EXPECT_TRUE(in_release_scope(holder(HolderRole::kLeak, 1, {10}, "logging"), scope));
  EXPECT_TRUE(in_release_scope(holder(HolderRole::kLeak, 1, {10}, "monitoring"), scope));
  EXPECT_FALSE(in_release_scope(holder(HolderRole::kLeak, 1, {10}, "default"), scope));
  EXPECT_FALSE(in_release_scope(holder(HolderRole::kLeak, 1, {10}, ""), scope));
  EXPECT_TRUE(in_release_scope(holder(HolderRole::kLeak, 1, {10}, ""), {}));
}

TEST(LeakReleaser, JudgesEachHolderAsReleaseDoesAndLimitsByScope) {
  Collected out;
  LeakReleaser releaser("/proc", {{"logging"}}, no_members, out);
  releaser.write(leak_of({holder(HolderRole::kOwner, 20, {200}, "logging"),
                          holder(HolderRole::kLeak, 30, {300}, "default"),
                          holder(HolderRole::kLeak, 40, {}, "logging")}));
  EXPECT_TRUE(out.steps.empty()) << "written from the collector's call: must wait for tick()";
  releaser.tick();
  ASSERT_EQ(out.steps.size(), 3u);
  EXPECT_EQ(releaser.running(), 0u);
  ASSERT_TRUE(step_of(out, 20));
  EXPECT_EQ(step_of(out, 20)->action, ReleaseAction::kKept);
  ASSERT_TRUE(step_of(out, 30));
  EXPECT_EQ(step_of(out, 30)->action, ReleaseAction::kRefused);
  EXPECT_NE(step_of(out, 30)->reason.find("out of --release-scope (namespace=logging)"), std::string::npos);
  ASSERT_TRUE(step_of(out, 40));
  EXPECT_EQ(step_of(out, 40)->action, ReleaseAction::kRefused);  // no process, no pin: no way in
  EXPECT_EQ(releaser.counters().kept, 1u);
  EXPECT_EQ(releaser.counters().refused, 2u);
}

TEST(LeakReleaser, IgnoresEverythingButLeaks) {
  Collected out;
  LeakReleaser releaser("/proc", {}, no_members, out);
  releaser.write(Record{std::chrono::system_clock::now(), LeakResolved{}});
  releaser.write(Record{std::chrono::system_clock::now(), Lost{3}});
  releaser.tick();
  EXPECT_TRUE(out.steps.empty());
}

// A planned step runs in a child the loop never waits for: tick() returns
// at once, and a later tick() reports it. Here the holder's process is gone,
// so the child cannot enter and the step fails, saying why.
TEST(LeakReleaser, RunsTheChildWithoutWaitingAndReportsItsEnd) {
  Collected out;
  LeakReleaser releaser("/proc", {}, no_members, out);
  releaser.write(leak_of({holder(HolderRole::kLeak, 50, {999999999}, "logging")}));
  const auto before = std::chrono::steady_clock::now();
  releaser.tick();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 200ms);
  for (int i = 0; i < 200 && out.steps.empty(); ++i) {
    std::this_thread::sleep_for(10ms);
    releaser.tick();
  }
  ASSERT_EQ(out.steps.size(), 1u);
  EXPECT_EQ(out.steps[0].action, ReleaseAction::kFailed);
  EXPECT_NE(out.steps[0].reason.find("no longer the namespace of any of its processes"), std::string::npos)
      << out.steps[0].reason;
  EXPECT_EQ(releaser.running(), 0u);
  EXPECT_EQ(releaser.counters().failed, 1u);
}

TEST(LeakReleaser, AtMostTwoChildrenRunAtOnce) {
  Collected out;
  // Five steps: two children at a time, the rest waiting; stop() reports
  // every one.
  LeakReleaser releaser("/proc", {}, no_members, out);
  std::vector<Holder> many;
  for (uint64_t ns = 1; ns <= 5; ++ns) many.push_back(holder(HolderRole::kLeak, ns, {999999999}, "logging"));
  releaser.write(leak_of(many));
  releaser.tick();
  EXPECT_LE(releaser.running(), kMaxRunningReleases);
  releaser.stop(2s);
  EXPECT_EQ(out.steps.size(), 5u);
  EXPECT_EQ(releaser.running(), 0u);
}

TEST(LeakReleaser, TheRecordHasReleasesShapeAndTheLiveViewSaysIt) {
  ReleaseStep step;
  step.device.dev = DevId{252, 0};
  step.device.path = "/dev/rbd0";
  step.holder = holder(HolderRole::kLeak, 30, {300}, "logging");
  step.action = ReleaseAction::kFailed;
  step.reason = "umount2 /x: Device or resource busy";
  step.errno_name = "EBUSY";
  step.failed_at = "/x";
  const Record record{std::chrono::system_clock::now(), Release{step}};
  const nlohmann::json j = record_json(record);
  EXPECT_EQ(j["event"], "release");
  EXPECT_EQ(j["action"], "failed");
  EXPECT_EQ(j["errno"], "EBUSY");
  EXPECT_EQ(j["failed_at"], "/x");
  EXPECT_EQ(j["dry_run"], false);
  EXPECT_EQ(j["pod"]["namespace"], "logging");
  EXPECT_TRUE(j["time"].is_string());
  const std::string text = live_view_text(record);
  EXPECT_NE(text.find("RELEASE /dev/rbd0"), std::string::npos) << text;
  EXPECT_NE(text.find("FAILED"), std::string::npos) << text;
}

}  // namespace
}  // namespace mountleak

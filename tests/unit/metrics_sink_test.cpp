// SPDX-License-Identifier: Apache-2.0
// trace's metrics from its records: a leak's series appear at `leak` and go
// at `leak_resolved`, labels stay low-cardinality, and the series bound
// holds against a node that makes many leaks.

#include "output/metrics_sink.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

Record record(Event e) { return Record{std::chrono::system_clock::now(), std::move(e)}; }

Holder leak_holder(uint64_t mntns, std::string pod, std::string container, std::string mountpoint) {
  Holder h;
  h.role = HolderRole::kLeak;
  h.mntns = mntns;
  h.mountpoint = mountpoint;
  h.mountpoints = {mountpoint};
  h.who.pids = {4683};
  h.who.container = ContainerRef{"containerd", "3f2a9c1b07de", std::move(container)};
  h.who.pod = PodRef{"kube-system", std::move(pod), "0b1c"};
  return h;
}

Leak rbd_leak(uint32_t minor, std::vector<Holder> holders) {
  Leak leak;
  leak.device.dev = DevId{252, minor};
  leak.device.kernel_name = "rbd" + std::to_string(minor);
  leak.device.path = "/dev/rbd" + std::to_string(minor);
  RbdInfo rbd;
  rbd.pool = "replicapool";
  rbd.image = "csi-vol-" + std::to_string(minor);
  leak.device.rbd = rbd;
  leak.holders = std::move(holders);
  return leak;
}

LeakResolved resolved(const Leak& leak) { return LeakResolved{leak.device, "copies_gone"}; }

const char* kPodVolume = "/var/lib/kubelet/pods/0b1c/volumes/kubernetes.io~csi/pvc-7f3a/mount";

bool has_line(const std::string& page, const std::string& line) {
  return page.find("\n" + line + "\n") != std::string::npos || page.starts_with(line + "\n");
}

TEST(MetricsSink, BeforeReadyOnlyUpZeroAndZeroCounters) {
  MetricsSink sink("0.1.0");
  const std::string page = sink.render();
  EXPECT_TRUE(has_line(page, "mountleak_up 0")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_build_info{version=\"0.1.0\"} 1")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_findings_total{kind=\"leak\"} 0")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 0")) << page;
}

TEST(MetricsSink, ReadySaysUpAndEachHooksTier) {
  MetricsSink sink("0.1.0");
  Ready ready;
  ready.hooks = {HookChoice{"umount", Tier::kTracepoint, {}, ""}, HookChoice{"busy_rbd", std::nullopt, {}, ""}};
  sink.write(record(ready));
  const std::string page = sink.render();
  EXPECT_TRUE(has_line(page, "mountleak_up 1")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_hook_tier_info{hook=\"umount\",tier=\"tracepoint\"} 1")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_hook_tier_info{hook=\"busy_rbd\",tier=\"none\"} 1")) << page;
  sink.set_up(false);
  EXPECT_TRUE(has_line(sink.render(), "mountleak_up 0"));
}

TEST(MetricsSink, ALeakIsASeriesUntilItIsResolved) {
  MetricsSink sink("0.1.0");
  const Leak leak = rbd_leak(4, {leak_holder(4026532301, "fluentd-x7k2p", "fluentd", kPodVolume)});
  const std::string series =
      "mountleak_leak_info{device=\"rbd4\",image=\"replicapool/csi-vol-4\",pv=\"pvc-7f3a\","
      "holder_pod_namespace=\"kube-system\",holder_pod=\"fluentd-x7k2p\",holder_container=\"fluentd\"} 1";
  const uint64_t before = sink.generation();
  sink.write(record(leak));
  EXPECT_NE(sink.generation(), before) << "a publisher must know at once";
  std::string page = sink.render();
  EXPECT_TRUE(has_line(page, series)) << page;
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 1")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_findings_total{kind=\"leak\"} 1")) << page;
  // Never a pid or a namespace inode as a label.
  EXPECT_EQ(page.find("4026532301"), std::string::npos) << page;
  EXPECT_EQ(page.find("4683"), std::string::npos) << page;

  sink.write(record(resolved(leak)));
  page = sink.render();
  EXPECT_EQ(page.find("mountleak_leak_info{"), std::string::npos) << page;
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 0")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_findings_total{kind=\"leak_resolved\"} 1")) << page;
}

TEST(MetricsSink, OneSeriesPerHolderContainerAndNoneForTheHost) {
  MetricsSink sink("0.1.0");
  Holder host = leak_holder(4026531840, "", "", "/var/lib/kubelet/x");
  host.role = HolderRole::kHost;
  host.who = {};
  Leak leak = rbd_leak(1, {leak_holder(1, "fluentd-a", "fluentd", kPodVolume),
                           leak_holder(2, "fluentd-a", "fluentd", kPodVolume),  // same container, another ns
                           leak_holder(3, "filebeat-b", "filebeat", kPodVolume), host});
  sink.write(record(leak));
  const std::string page = sink.render();
  size_t n = 0;
  for (size_t at = page.find("\nmountleak_leak_info{"); at != std::string::npos;
       at = page.find("\nmountleak_leak_info{", at + 1))
    ++n;
  EXPECT_EQ(n, 2u) << page;
}

TEST(MetricsSink, HostileLabelValuesStayInsideTheirQuotes) {
  MetricsSink sink("0.1.0");
  sink.write(record(rbd_leak(2, {leak_holder(1, "x\"} 1\nmountleak_up{a=\"", "c\\", kPodVolume)})));
  const std::string page = sink.render();
  EXPECT_EQ(page.find("\nmountleak_up{"), std::string::npos) << page;
  EXPECT_NE(page.find("holder_pod=\"x\\\"} 1\\\\x0amountleak_up{a=\\\"\""), std::string::npos) << page;
}

TEST(MetricsSink, TheSeriesBoundKeepsCountingLeaks) {
  MetricsSink sink("0.1.0", 2);
  std::vector<Leak> leaks;
  for (uint32_t i = 0; i < 3; ++i) {
    leaks.push_back(rbd_leak(i, {leak_holder(i, "p" + std::to_string(i), "c", kPodVolume)}));
    sink.write(record(leaks.back()));
  }
  std::string page = sink.render();
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 3")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_leak_info_omitted 1")) << page;
  EXPECT_EQ(page.find("holder_pod=\"p2\""), std::string::npos) << page;
  // Room again once one is resolved: the next leak has its series.
  sink.write(record(resolved(leaks[0])));
  sink.write(record(rbd_leak(9, {leak_holder(9, "p9", "c", kPodVolume)})));
  page = sink.render();
  EXPECT_NE(page.find("holder_pod=\"p9\""), std::string::npos) << page;
  EXPECT_TRUE(has_line(page, "mountleak_leaked_devices 3")) << page;
}

TEST(MetricsSink, SampledCounters) {
  MetricsSink sink("0.1.0");
  TraceCounters c;
  c.events_by_kind = {{"mount", 7}, {"umount", 0}};
  c.events_lost = 5;
  c.resyncs = 2;
  c.hostpath_risks = 1;
  sink.sample(c);
  const std::string page = sink.render();
  EXPECT_TRUE(has_line(page, "mountleak_events_total{kind=\"mount\"} 7")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_events_total{kind=\"umount\"} 0")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_events_lost_total 5")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_resyncs_total 2")) << page;
  EXPECT_TRUE(has_line(page, "mountleak_hostpath_risks 1")) << page;
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// report's answers from recorded log lines: the timeline of a device, its
// holders at a moment, the lineage of each copy (through namespaces the
// findings never named), the filters, and both renderings with hostile
// strings. The seed log was written by `trace --log` during the privileged
// ReportSeed scenario (tests/privileged/report_test.cpp) and ends with the
// torn line a crash leaves.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "output/json_line.h"
#include "output/postmortem_json.h"
#include "output/postmortem_table.h"
#include "postmortem/copy_lineage.h"
#include "postmortem/device_history.h"
#include "postmortem/device_report.h"
#include "postmortem/holders_at.h"
#include "postmortem/log_records.h"

namespace mountleak {
namespace {

constexpr uint64_t kHost = 4026532177;
constexpr uint64_t kCollector = 4026532187;

LogRecords seed_log() {
  auto log = load_log_records({std::string(MOUNTLEAK_TEST_DATA) + "/postmortem/seed_trace.log"});
  EXPECT_TRUE(log.ok());
  return log.ok() ? std::move(*log) : LogRecords{};
}

LogMicros at(const char* rfc3339) { return *parse_rfc3339(rfc3339); }

LoggedDevice loop0(const LogRecords& log) {
  auto devices = devices_in(log);
  EXPECT_EQ(devices.size(), 1u);
  return devices.begin()->second;
}

std::vector<std::string> kinds(const std::vector<HistoryStep>& steps) {
  std::vector<std::string> out;
  for (const auto& s : steps) out.emplace_back(step_kind_name(s.kind));
  return out;
}

TEST(DeviceHistory, TheSeedScenarioStepByStep) {
  LogRecords log = seed_log();
  DeviceHistory h = build_device_history(log, loop0(log), host_mntns_of(log));
  EXPECT_EQ(kinds(h.steps),
            (std::vector<std::string>{"mounted", "bound", "copied", "propagation", "bound", "propagation",
                                      "hostpath_risk", "copied", "unmounted", "unmounted", "leak", "busy"}));
  const HistoryStep& mounted = h.steps[0];
  EXPECT_TRUE(mounted.host);
  EXPECT_EQ(mounted.source, "/dev/loop0");
  EXPECT_EQ(mounted.detail, "ext4");
  const HistoryStep& copied = h.steps[2];
  EXPECT_FALSE(copied.from_finding);
  EXPECT_EQ(copied.mntns, kCollector);
  EXPECT_EQ(copied.from_mntns, kHost);
  // The raw event only has a pid; the finding about the same namespace names
  // that pid's container and pod.
  ASSERT_TRUE(copied.who && copied.who->owner.container);
  EXPECT_EQ(copied.who->owner.container->name, "fluentd");
  EXPECT_EQ(h.steps[3].propagation, "rslave");
  EXPECT_EQ(h.steps[3].target, "/");
  EXPECT_EQ(h.steps[4].source, "/tmp/mountleak-seed-SkCg4J/var/lib/kubelet");
  EXPECT_EQ(h.steps[5].propagation, "rprivate");
  ASSERT_TRUE(h.steps[6].bind);
  EXPECT_EQ(h.steps[6].bind->propagation, "private");
  EXPECT_TRUE(h.steps[8].host && h.steps[9].host);
  EXPECT_EQ(h.steps[11].detail, "open_excl");
  EXPECT_EQ(h.parent_of.at(kCollector), kHost);
}

TEST(HoldersAt, BeforeBetweenAndAfter) {
  LogRecords log = seed_log();
  DeviceHistory h = build_device_history(log, loop0(log), host_mntns_of(log));
  EXPECT_TRUE(holders_at(h, at("2026-12-02T13:00:53.900000Z")).empty());

  auto mounted = holders_at(h, at("2026-12-02T13:00:53.940000Z"));
  ASSERT_EQ(mounted.size(), 1u);
  EXPECT_TRUE(mounted[0].host);
  EXPECT_EQ(mounted[0].role, "host");
  EXPECT_EQ(mounted[0].mountpoints.size(), 2u);  // the global mount and the pod volume
  EXPECT_EQ(mounted[0].confirmed, 0);

  auto between = holders_at(h, at("2026-12-02T13:00:54.050000Z"));
  ASSERT_EQ(between.size(), 2u);
  EXPECT_TRUE(between[0].host);
  EXPECT_EQ(between[1].mntns, kCollector);
  EXPECT_EQ(between[1].role, "leak");
  ASSERT_TRUE(between[1].owner.pod);
  EXPECT_EQ(between[1].owner.pod->name, "fluentd-9fb09");
  EXPECT_EQ(between[1].since, at("2026-12-02T13:00:53.950046Z"));
  EXPECT_EQ(between[1].confirmed, at("2026-12-02T13:00:54.001378Z"));
  ASSERT_EQ(between[1].processes.size(), 1u);
  EXPECT_EQ(between[1].processes[0].comm, "td-agent");

  // One of the host's two mounts gone, then both.
  auto half = holders_at(h, at("2026-12-02T13:00:54.109250Z"));
  ASSERT_EQ(half.size(), 2u);
  EXPECT_EQ(half[0].mountpoints.size(), 1u);
  auto after = holders_at(h, at("2026-12-02T13:00:55Z"));
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].mntns, kCollector);
  EXPECT_EQ(after[0].confirmed, at("2026-12-02T13:00:54.196701Z"));
}

TEST(CopyLineage, TheCollectorsCopyFromTheHostsMount) {
  LogRecords log = seed_log();
  DeviceHistory h = build_device_history(log, loop0(log), host_mntns_of(log));
  const LogMicros when = at("2026-12-02T13:00:55Z");
  auto holders = holders_at(h, when);
  ASSERT_EQ(holders.size(), 1u);
  CopyLineage l = lineage_of(h, holders[0], when);
  EXPECT_TRUE(l.reaches_host);
  EXPECT_EQ(l.namespaces, (std::vector<uint64_t>{kHost, kCollector}));
  EXPECT_EQ(kinds(l.steps), (std::vector<std::string>{"mounted", "bound", "copied", "propagation", "bound",
                                                      "propagation", "hostpath_risk", "copied"}));
  ASSERT_TRUE(l.copy.owner.container);
  EXPECT_EQ(l.copy.owner.container->name, "fluentd");
}

// host -> A (a sandbox that unshared, no finding) -> B (the container a
// finding names), with a setns into B and a lazy unmount in another
// namespace that must not count.
std::vector<std::string> nested_lines() {
  return {
      R"({"event":"ready","time":"2026-12-02T10:00:00Z","host_mntns":100,"pid":1})",
      R"({"event":"mount","time":"2026-12-02T10:00:01Z","pid":10,"comm":"kubelet","mntns":100,"ret":0,)"
      R"("source":"/dev/rbd4","target":"/k/plugins/rbd/mounts/pool-image-img","fstype":"ext4","flags":"MS_RELATIME"})",
      R"({"event":"mntns","time":"2026-12-02T10:00:02Z","pid":20,"comm":"runc","mntns":200,"old_mntns":100,"ret":0,"flags":131072})",
      R"({"event":"mntns","time":"2026-12-02T10:00:03Z","pid":30,"comm":"sh","mntns":300,"old_mntns":200,"ret":0,"flags":131072})",
      R"({"event":"mntns","time":"2026-12-02T10:00:03.5Z","pid":31,"comm":"other","mntns":301,"old_mntns":100,"ret":0,"flags":131072})",
      R"({"event":"mount","time":"2026-12-02T10:00:04Z","pid":30,"comm":"sh","mntns":300,"ret":0,)"
      R"("source":"","target":"/k","fstype":"","flags":"MS_REC|MS_PRIVATE"})",
      R"({"event":"umount","time":"2026-12-02T10:00:04.5Z","pid":31,"comm":"other","mntns":301,"ret":0,"target":"/k","flags":2})",
      R"({"event":"setns","time":"2026-12-02T10:00:05Z","pid":40,"comm":"nsenter","mntns":300,"old_mntns":100,"ret":0,"flags":0})",
      R"({"event":"mntns_copy","time":"2026-12-02T10:00:06Z","device":{"path":"/dev/rbd4","major":252,"minor":0,"name":"rbd4",)"
      R"("rbd":{"pool":"replicapool","image":"csi-vol-1"}},"mntns":300,"from_mntns":200,)"
      R"("creator":{"pid":30,"comm":"sh","container":{"runtime":"containerd","id":"abc","name":"filebeat"},)"
      R"("pod":{"namespace":"logging","name":"filebeat-1","uid":"u"}},)"
      R"("holders":[{"role":"leak","mntns":300,"mountpoint":"/k/plugins/rbd/mounts/pool-image-img",)"
      R"("mountpoints":["/k/plugins/rbd/mounts/pool-image-img"],"processes":[{"pid":30,"comm":"\u001b[2Jsh","cmdline":["sh"]}],)"
      R"("container":{"runtime":"containerd","id":"abc","name":"filebeat"},"pod":{"namespace":"logging","name":"filebeat-1","uid":"u"}}]})",
      R"({"event":"umount","time":"2026-12-02T10:00:07Z","pid":10,"comm":"kubelet","mntns":100,"ret":0,"target":"/k/plugins/rbd/mounts/pool-image-img","flags":0})",
  };
}

LogRecords nested_log() {
  LogRecords log;
  int n = 0;
  for (const auto& line : nested_lines()) add_log_line(log, line, "line " + std::to_string(++n));
  EXPECT_EQ(log.unparsed, 0u) << (log.warnings.empty() ? "" : log.warnings[0]);
  return log;
}

TEST(CopyLineage, ThroughANamespaceNoFindingNamed) {
  LogRecords log = nested_log();
  DeviceHistory h = build_device_history(log, loop0(log), host_mntns_of(log));
  EXPECT_EQ(kinds(h.steps), (std::vector<std::string>{"mounted", "copied", "propagation", "entered", "copied",
                                                      "unmounted"}));
  const LogMicros end = at("2026-12-02T10:00:08Z");
  auto holders = holders_at(h, end);
  ASSERT_EQ(holders.size(), 1u);  // the host unmounted; namespace 301 detached its copy
  CopyLineage l = lineage_of(h, holders[0], end);
  EXPECT_TRUE(l.reaches_host);
  EXPECT_EQ(l.namespaces, (std::vector<uint64_t>{100, 200, 300}));
  EXPECT_EQ(kinds(l.steps),
            (std::vector<std::string>{"mounted", "copied", "copied", "propagation", "entered", "copied"}));
  EXPECT_EQ(l.steps[1].mntns, 200u);  // the sandbox, from its raw event only
  EXPECT_EQ(l.steps[1].who->comm, "runc");
  EXPECT_EQ(l.steps[3].propagation, "rprivate");
}

TEST(CopyLineage, AStartTheLogNoLongerHasIsSaid) {
  LogRecords log;
  auto lines = nested_lines();
  // Rotated away: the ready, the host's mount and the first copy.
  for (size_t i = 3; i < lines.size(); ++i) add_log_line(log, lines[i], "x");
  DeviceHistory h = build_device_history(log, loop0(log), host_mntns_of(log));
  auto holders = holders_at(h, at("2026-12-02T10:00:08Z"));
  ASSERT_EQ(holders.size(), 1u);
  CopyLineage l = lineage_of(h, holders[0], at("2026-12-02T10:00:08Z"));
  EXPECT_FALSE(l.reaches_host);
  EXPECT_EQ(l.namespaces.back(), 300u);
}

// The kernel tier names the device of a propagated copy: a step where the
// namespace holds it, nothing where no finding says it does.
TEST(DeviceHistory, PropagatedCopiesOnTheKernelTier) {
  LogRecords log = nested_log();
  add_log_line(log, R"({"event":"propagate_mount","time":"2026-12-02T10:00:09Z","pid":10,"comm":"kubelet","mntns":300,)"
                    R"("ret":0,"tier":"kernel","mountpoint_name":"img2","dev":"252:0"})", "a");
  add_log_line(log, R"({"event":"propagate_mount","time":"2026-12-02T10:00:09Z","pid":10,"comm":"kubelet","mntns":555,)"
                    R"("ret":0,"tier":"kernel","mountpoint_name":"img2","dev":"252:0"})", "b");
  add_log_line(log, R"({"event":"propagate_mount","time":"2026-12-02T10:00:09Z","pid":10,"comm":"kubelet","mntns":300,)"
                    R"("ret":0,"tier":"kernel","mountpoint_name":"other","dev":"252:1"})", "c");
  DeviceHistory h = build_device_history(log, loop0(log), host_mntns_of(log));
  ASSERT_EQ(h.steps.back().kind, StepKind::kPropagated);
  EXPECT_EQ(h.steps.back().mntns, 300u);
  EXPECT_EQ(h.steps.back().target, "img2");
  EXPECT_EQ(h.steps[h.steps.size() - 2].kind, StepKind::kUnmounted);
}

TEST(DeviceReport, FiltersByDeviceImagePodAndTime) {
  LogRecords log = nested_log();
  auto report = [&](ReportQuery q) { return build_postmortem_report(log, q, {"trace.log"}); };
  for (const char* spec : {"/dev/rbd4", "rbd4", "252:0"}) {
    ReportQuery q;
    q.devices = {spec};
    EXPECT_EQ(report(q).devices.size(), 1u) << spec;
  }
  ReportQuery other;
  other.devices = {"252:1"};
  EXPECT_TRUE(report(other).devices.empty());
  ReportQuery image;
  image.images = {"replicapool/csi-vol-1"};
  EXPECT_EQ(report(image).devices.size(), 1u);
  image.images = {"replicapool/csi-vol-2"};
  EXPECT_TRUE(report(image).devices.empty());
  ReportQuery pod;
  pod.pods = {"logging/filebeat-1"};
  EXPECT_EQ(report(pod).devices.size(), 1u);
  pod.pods = {"filebeat-1"};
  EXPECT_EQ(report(pod).devices.size(), 1u);
  pod.pods = {"default/filebeat-1"};
  EXPECT_TRUE(report(pod).devices.empty());

  ReportQuery span;
  span.since = at("2026-12-02T10:00:02Z");
  span.until = at("2026-12-02T10:00:04Z");
  auto r = report(span);
  ASSERT_EQ(r.devices.size(), 1u);
  // The sandbox (200) is in no finding: only the container's copy is.
  EXPECT_EQ(kinds(r.devices[0].timeline), (std::vector<std::string>{"copied", "propagation"}));
  // Holders and lineage at --until when --at is not given: the host's mount
  // and the copy made so far.
  EXPECT_EQ(r.devices[0].at, *span.until);
  EXPECT_EQ(r.devices[0].holders.size(), 2u);
  ASSERT_EQ(r.devices[0].lineages.size(), 1u);
  EXPECT_EQ(r.devices[0].lineages[0].copy.mntns, 300u);
}

TEST(PostmortemOutput, TableEscapesAndJsonKeepsTheBytes) {
  LogRecords log = nested_log();
  ReportQuery q;
  q.at = at("2026-12-02T10:00:08Z");
  auto r = build_postmortem_report(log, q, {"trace.log"});
  ASSERT_EQ(r.devices.size(), 1u);
  const std::string table = device_report_block(r.devices[0]);
  EXPECT_EQ(table.find('\x1b'), std::string::npos) << table;
  EXPECT_NE(table.find("\\x1b[2Jsh"), std::string::npos) << table;
  EXPECT_NE(table.find("LINEAGE of mntns 300: host 100 -> 200 -> 300"), std::string::npos) << table;
  EXPECT_NE(table.find("=> held by container filebeat (containerd abc) pod logging/filebeat-1"), std::string::npos)
      << table;

  const auto j = nlohmann::json::parse(json_line(device_report_json(r.devices[0])));
  EXPECT_EQ(j["event"], "report_device");
  EXPECT_EQ(j["device"]["rbd"]["pool"], "replicapool");
  ASSERT_EQ(j["holders"].size(), 1u);
  EXPECT_EQ(j["holders"][0]["processes"][0]["comm"], "\x1b[2Jsh");
  EXPECT_EQ(j["lineage"][0]["namespaces"], nlohmann::json::array({100, 200, 300}));
  const auto s = nlohmann::json::parse(json_line(report_summary_json(r)));
  EXPECT_EQ(s["event"], "report_summary");
  EXPECT_EQ(s["lines"], nested_lines().size());
  EXPECT_EQ(s["host_mntns"], 100);
}

}  // namespace
}  // namespace mountleak

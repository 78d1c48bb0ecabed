// SPDX-License-Identifier: Apache-2.0
// `mountleak report` over a log that `trace --log` wrote while the seed
// node's story happened for real (the kubelet mounts the volume, a log
// collector copies it with private propagation, the kubelet unmounts, an
// exclusive open fails with EBUSY), with the tracer then killed by SIGKILL
// and a torn line left at the end as a crash mid-write leaves it. report
// must rebuild the timeline, the holders at a moment chosen between the
// copy and the unmount, and the lineage of the collector's copy, from the
// log alone.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

// "tracepoint" here, "kernel" in the vm lane's Debian guest (as in
// trace_test.cpp). The kernel tier's mount events name a mount point by its
// last component only, so there report cannot follow binds and
// propagation changes by path (README, Limitations); the rest must hold on
// both tiers.
bool kernel_tier() {
  const char* tier = getenv("MOUNTLEAK_TEST_EXPECT_TIER");
  return tier && std::string(tier) == "kernel";
}

// A path as the tier names it.
bool same_path(const nlohmann::json& reported, const std::string& full) {
  const std::string r = reported.is_string() ? reported.get<std::string>() : "";
  if (!kernel_tier()) return r == full;
  return !r.empty() && full.size() >= r.size() && full.compare(full.size() - r.size(), r.size(), r) == 0;
}

uint64_t mntns_of(pid_t pid) {
  struct stat st {};
  const std::string path = "/proc/" + std::to_string(pid) + "/ns/mnt";
  return stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string now_rfc3339() {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(us % 1000000));
  return buf;
}

std::vector<nlohmann::json> steps_of(const nlohmann::json& steps, const std::string& kind) {
  std::vector<nlohmann::json> out;
  for (const auto& s : steps)
    if (s.value("step", "") == kind) out.push_back(s);
  return out;
}

const nlohmann::json* holder_in(const nlohmann::json& holders, uint64_t mntns) {
  for (const auto& h : holders)
    if (h.value("mntns", uint64_t{0}) == mntns) return &h;
  return nullptr;
}

class ReportSeed : public ::testing::Test {
 protected:
  void SetUp() override {
    // The volume is mounted once the tracer runs, so that the log has it.
    node_ = make_seed_node(/*mount_volume=*/false);
    ASSERT_NE(node_, nullptr);
    log_ = node_->tmp_dir() + "/trace.log";
  }
  void TearDown() override {
    trace_.reset();
    if (node_) {
      node_->teardown();
      EXPECT_TRUE(node_->teardown_errors().empty());
    }
  }
  RunResult report(const std::vector<std::string>& extra) {
    return run_mountleak(with({"report", "--log", log_}, extra));
  }

  std::unique_ptr<fixture::SeedNode> node_;
  std::unique_ptr<TraceProcess> trace_;
  std::string log_;
};

TEST_F(ReportSeed, TimelineHoldersAndLineageFromALogLeftBySigkill) {
  trace_ = std::make_unique<TraceProcess>(with({"--log", log_}, node_->cli_args()));
  ASSERT_TRUE(trace_->started());
  auto ready = trace_->wait_for_event("ready", 20s);
  ASSERT_TRUE(ready) << "no ready event; stderr: " << trace_->stderr_text();
  const uint64_t host_mntns = (*ready)["host_mntns"].get<uint64_t>();

  ASSERT_TRUE(node_->kubelet_mount_global().ok());
  ASSERT_TRUE(node_->kubelet_mount_pod_volume().ok());
  fixture::ContainerSpec spec;
  spec.kind = ContainerKind::kLogCollectorPrivate;
  auto started = node_->start_container(spec);
  ASSERT_TRUE(started) << started.error().message;
  const fixture::Container& collector = **started;
  const uint64_t collector_mntns = mntns_of(collector.pid);
  ASSERT_NE(collector_mntns, 0u);
  auto names_collector = [&](const std::string& kind) {
    return [&, kind](const nlohmann::json& e) {
      return e.value("event", "") == kind && !holders_of_container(e, collector.id).empty();
    };
  };
  ASSERT_TRUE(trace_->wait_for(names_collector("hostpath_risk"), 10s)) << trace_->describe();
  ASSERT_TRUE(trace_->wait_for(names_collector("mntns_copy"), 10s)) << trace_->describe();

  // The moment asked about: copied, and the host still has its mounts.
  std::this_thread::sleep_for(50ms);
  const std::string between = now_rfc3339();
  std::this_thread::sleep_for(50ms);

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  ASSERT_TRUE(trace_->wait_for(names_collector("leak"), 10s)) << trace_->describe();
  const int fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL);
  ASSERT_EQ(fd, -1);
  ASSERT_EQ(errno, EBUSY);
  ASSERT_TRUE(trace_->wait_for(names_collector("busy"), 10s)) << trace_->describe();
  // Raw events reach the log within 100 ms; findings at once.
  std::this_thread::sleep_for(400ms);
  ASSERT_EQ(kill(trace_->pid(), SIGKILL), 0);
  trace_->stop();  // reaps it; SIGINT to a dead process is nothing
  // What a crash in the middle of a write leaves.
  { std::ofstream(log_, std::ios::app) << R"({"event":"mount","time":"2026-)"; }

  // --- the timeline, and the holders between copy and unmount ---
  RunResult r = report({"--device", node_->device_path(), "--at", between, "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("torn by a crash"), std::string::npos) << r.err;
  auto lines = r.json_lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  const nlohmann::json& d = lines[0];
  ASSERT_EQ(d["event"], "report_device") << d.dump(2);
  EXPECT_EQ(d["device"]["path"], node_->device_path());
  EXPECT_EQ(d["host_mntns"], host_mntns);
  const nlohmann::json& timeline = d["timeline"];

  auto mounted = steps_of(timeline, "mounted");
  ASSERT_FALSE(mounted.empty()) << timeline.dump(2);
  EXPECT_TRUE(mounted[0]["host"].get<bool>());
  EXPECT_EQ(mounted[0]["source"], node_->device_path());
  EXPECT_TRUE(same_path(mounted[0]["target"], node_->global_mount_path())) << mounted[0].dump();

  bool copy_found = false, copy_raw = false;
  for (const auto& s : steps_of(timeline, "copied")) {
    if (s["mntns"] != collector_mntns) continue;
    if (s["from"] == "kernel_event") copy_raw = true;
    if (s["from"] == "finding") {
      copy_found = true;
      EXPECT_EQ(s["process"]["pid"], collector.pid) << s.dump();
      EXPECT_EQ(s["process"]["container"]["id"], collector.id) << s.dump();
      EXPECT_EQ(s["process"]["pod"]["name"], collector.pod.name) << s.dump();
    }
  }
  EXPECT_TRUE(copy_found && copy_raw) << timeline.dump(2);

  auto risks = steps_of(timeline, "hostpath_risk");
  ASSERT_FALSE(risks.empty()) << timeline.dump(2);
  EXPECT_EQ(risks[0]["bind"]["propagation"], "private");
  EXPECT_EQ(risks[0]["bind"]["source"], node_->kubelet_root());
  if (!kernel_tier()) {
    EXPECT_FALSE(steps_of(timeline, "propagation").empty()) << timeline.dump(2);
  }

  bool host_unmount = false;
  for (const auto& s : steps_of(timeline, "unmounted"))
    host_unmount = host_unmount || (s["host"].get<bool>() && same_path(s["target"], node_->global_mount_path()));
  // The kernel tier's umount event does not name the mount point the way
  // its mount event did, so report cannot follow the unmount there yet (the
  // leak finding below still says the host unmounted it; README, Limitations).
  if (!kernel_tier()) {
    EXPECT_TRUE(host_unmount) << timeline.dump(2);
  }
  ASSERT_EQ(steps_of(timeline, "leak").size(), 1u) << timeline.dump(2);
  auto busy = steps_of(timeline, "busy");
  ASSERT_EQ(busy.size(), 1u) << timeline.dump(2);
  EXPECT_EQ(busy[0]["detail"], "open_excl");
  // In the order they happened.
  for (size_t i = 1; i < timeline.size(); ++i)
    EXPECT_LE(timeline[i - 1]["time"].get<std::string>(), timeline[i]["time"].get<std::string>());

  ASSERT_EQ(d["at"], between);
  const nlohmann::json* host = holder_in(d["holders"], host_mntns);
  ASSERT_NE(host, nullptr) << d["holders"].dump(2);
  EXPECT_TRUE((*host)["host"].get<bool>());
  const nlohmann::json* copy = holder_in(d["holders"], collector_mntns);
  ASSERT_NE(copy, nullptr) << d["holders"].dump(2);
  EXPECT_EQ((*copy)["role"], "leak");
  EXPECT_EQ((*copy)["container"]["id"], collector.id);
  EXPECT_EQ((*copy)["container"]["name"], collector.name);
  EXPECT_EQ((*copy)["pod"]["name"], collector.pod.name);
  EXPECT_EQ((*copy)["pod"]["namespace"], collector.pod.namespace_name);

  // --- the lineage of the collector's copy ---
  ASSERT_EQ(d["lineage"].size(), 1u) << d["lineage"].dump(2);
  const nlohmann::json& lineage = d["lineage"][0];
  EXPECT_EQ(lineage["mntns"], collector_mntns);
  EXPECT_TRUE(lineage["reaches_host"].get<bool>()) << lineage.dump(2);
  ASSERT_GE(lineage["namespaces"].size(), 2u);
  EXPECT_EQ(lineage["namespaces"].front(), host_mntns);
  EXPECT_EQ(lineage["namespaces"].back(), collector_mntns);
  EXPECT_EQ(lineage["container"]["id"], collector.id);
  EXPECT_EQ(lineage["pod"]["name"], collector.pod.name);
  const nlohmann::json& chain = lineage["steps"];
  EXPECT_FALSE(steps_of(chain, "mounted").empty()) << chain.dump(2);
  EXPECT_FALSE(steps_of(chain, "copied").empty()) << chain.dump(2);
  if (!kernel_tier()) {
    EXPECT_FALSE(steps_of(chain, "bound").empty()) << chain.dump(2);
  }
  EXPECT_FALSE(steps_of(chain, "hostpath_risk").empty()) << chain.dump(2);
  EXPECT_TRUE(steps_of(chain, "unmounted").empty()) << "an unmount is no part of how the copy got there";

  const nlohmann::json& summary = lines[1];
  EXPECT_EQ(summary["event"], "report_summary");
  EXPECT_EQ(summary["unparsed_lines"], 0) << summary.dump();
  EXPECT_GT(summary["lines"].get<uint64_t>(), 10u);

  // --- at the end of the log only the collector holds it ---
  RunResult end = report({"--device", node_->kernel_name(), "-o", "json"});
  ASSERT_EQ(end.exit_code, 0) << end.err;
  auto end_lines = end.json_lines();
  ASSERT_EQ(end_lines.size(), 2u) << end.out;
  ASSERT_EQ(end_lines[0]["holders"].size(), 1u) << end_lines[0]["holders"].dump(2);
  EXPECT_EQ(end_lines[0]["holders"][0]["mntns"], collector_mntns);

  // --- the table names the collector and its lineage ---
  RunResult table = report({"--pod", collector.pod.namespace_name + "/" + collector.pod.name, "--at", between});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("TIMELINE"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("LINEAGE of mntns " + std::to_string(collector_mntns)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("=> held by container " + collector.name), std::string::npos) << table.out;
  if (!kernel_tier()) {
    EXPECT_NE(table.out.find("rprivate"), std::string::npos) << table.out;
  }

  // --- a pod that took no part names no device ---
  RunResult other = report({"--pod", "nobody/nothing", "-o", "json"});
  ASSERT_EQ(other.exit_code, 0) << other.err;
  ASSERT_EQ(other.json_lines().size(), 1u) << other.out;
}

// Arguments that mean nothing are errors (exit 2) that say what is wrong.
TEST(ReportCommandLine, MeaninglessArgumentsExitTwo) {
  char dir[] = "/tmp/mountleak-report-cli-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string log = std::string(dir) + "/trace.log";
  { std::ofstream(log) << R"({"event":"ready","time":"2026-12-02T13:00:00Z","host_mntns":1,"pid":2})" << "\n"; }
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"report"}, "--log is required"},
      {{"report", "--log", "/nonexistent/trace.log"}, "No such file or directory"},
      {{"report", "--log", log, "--at", "yesterday"}, "is not a time"},
      {{"report", "--log", log, "--since", "2026-12-02T13:00:00"}, "is not a time"},  // no zone
      {{"report", "--log", log, "--since", "-1h", "--until", "-2h"}, "--since is after --until"},
      {{"report", "--log", log, "-o", "yaml"}, "yaml"},
  };
  for (const auto& [args, said] : cases) {
    RunResult r = run_mountleak(args);
    EXPECT_EQ(r.exit_code, 2) << args.back() << "\n" << r.err;
    EXPECT_NE(r.err.find(said), std::string::npos) << r.err;
  }
  RunResult ok = run_mountleak({"report", "--log", log, "--at", "-1d"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("No finding in the log names a device"), std::string::npos) << ok.out;
  unlink(log.c_str());
  rmdir(dir);
}

}  // namespace
}  // namespace mountleak::testing

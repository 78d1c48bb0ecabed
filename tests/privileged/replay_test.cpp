// SPDX-License-Identifier: Apache-2.0
// `mountleak replay`: the seed scenario traced live with --log, the tracer
// killed with SIGKILL (no clean stop, nothing flushed on purpose), then the
// log replayed offline: the same findings, naming the same devices,
// namespaces, containers and pods, as the live run printed.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

constexpr auto kFindingTimeout = 10s;

bool is_finding(const nlohmann::json& e) {
  static const std::set<std::string> kinds = {"hostpath_risk", "mntns_copy", "leak", "busy", "lost", "resync"};
  return kinds.count(e.value("event", "")) > 0;
}

std::string or_empty(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// What a finding says that replay must say too: its kind, the device, and
// each holder's role, namespace, container and pod; plus the kind's own
// culprit (who created, bound, unmounted or failed).
std::string signature(const nlohmann::json& e) {
  std::string s = e.value("event", "");
  if (e.contains("device") && e["device"].is_object())
    s += " dev=" + std::to_string(e["device"].value("major", 0u)) + ":" +
         std::to_string(e["device"].value("minor", 0u)) + " name=" + or_empty(e["device"], "name");
  std::vector<std::string> holders;
  for (const auto& h : e.value("holders", nlohmann::json::array())) {
    std::string one = or_empty(h, "role") + "@" + (h["mntns"].is_number() ? h["mntns"].dump() : "-");
    if (h["container"].is_object())
      one += " container=" + or_empty(h["container"], "runtime") + "/" + or_empty(h["container"], "id") + "/" +
             or_empty(h["container"], "name");
    if (h["pod"].is_object())
      one += " pod=" + or_empty(h["pod"], "namespace") + "/" + or_empty(h["pod"], "name") + "/" +
             or_empty(h["pod"], "uid");
    holders.push_back(one);
  }
  std::sort(holders.begin(), holders.end());
  for (const auto& h : holders) s += " [" + h + "]";
  for (const char* culprit : {"creator", "unmounted_by", "process"})
    if (e.contains(culprit) && e[culprit].is_object()) s += std::string(" ") + culprit + "=" + e[culprit]["pid"].dump();
  if (e.contains("bind")) s += " bind=" + e["bind"].dump();
  if (e.contains("mntns")) s += " mntns=" + e["mntns"].dump();
  if (e.contains("source") && e["source"].is_string()) s += " source=" + e["source"].get<std::string>();
  return s;
}

std::multiset<std::string> signatures(const std::vector<nlohmann::json>& events) {
  std::multiset<std::string> out;
  for (const auto& e : events)
    if (is_finding(e)) out.insert(signature(e));
  return out;
}

std::string joined(const std::multiset<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += x + "\n";
  return out;
}

class ReplaySeed : public SeedNodeTest {};

TEST_P(ReplaySeed, SigkilledTraceLogReplaysToTheSameFindings) {
  const std::string log = node_->tmp_dir() + "/trace.jsonl";
  auto trace = std::make_unique<TraceProcess>(with({"--log", log}, node_->cli_args()));
  ASSERT_TRUE(trace->started());
  ASSERT_TRUE(trace->wait_for_event("ready", 20s)) << trace->stderr_text();
  auto naming = [&](const std::string& kind, const fixture::Container& c) {
    return trace->wait_for(
        [&](const nlohmann::json& e) { return e.value("event", "") == kind && !holders_of_container(e, c.id).empty(); },
        kFindingTimeout);
  };

  // The field report: a harmless collector (HostToContainer), a leaky one
  // (private), an exclusive open that fails, then the kubelet's unmounts.
  fixture::Container* slave = start(ContainerKind::kLogCollectorSlave);
  ASSERT_NE(slave, nullptr);
  fixture::Container* leaky = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(leaky, nullptr);
  ASSERT_TRUE(naming("hostpath_risk", *leaky)) << trace->describe();
  ASSERT_TRUE(naming("mntns_copy", *leaky)) << trace->describe();
  int fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL);
  if (fd >= 0) close(fd);
  ASSERT_EQ(fd, -1);
  ASSERT_TRUE(naming("busy", *leaky)) << trace->describe();
  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  auto leak = naming("leak", *leaky);
  ASSERT_TRUE(leak) << trace->describe();

  // Raw events reach the log within 100 ms of being read; then no clean stop.
  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(kill(trace->pid(), SIGKILL), 0);
  trace->stop();
  const std::multiset<std::string> live = signatures(trace->events());
  ASSERT_GE(live.size(), 4u) << joined(live);

  struct stat st {};
  ASSERT_EQ(stat(log.c_str(), &st), 0);
  RunResult replay = run_mountleak({"replay", "--log", log, "-o", "json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  const std::vector<nlohmann::json> replayed = replay.json_lines();
  EXPECT_EQ(joined(signatures(replayed)), joined(live)) << "replay's stderr: " << replay.err;

  // The leak names the leaky collector, container and pod, exactly.
  bool named = false;
  for (const auto& e : replayed)
    if (e.value("event", "") == "leak")
      for (const auto& h : holders_of_container(e, leaky->id)) {
        expect_names(h, *leaky, GetParam().expected_runtime);
        named = true;
      }
  EXPECT_TRUE(named) << replay.out;
  for (const auto& e : replayed) EXPECT_TRUE(holders_of_container(e, slave->id).empty() || e["event"] == "busy") << e.dump();

  // What recording costs: the log's bytes per kernel event it holds.
  uint64_t raw = 0, facts = 0, fact_bytes = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> by_kind;  // lines, bytes
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) continue;
    const std::string kind = j.value("event", "");
    by_kind[kind].first++;
    by_kind[kind].second += line.size() + 1;
    if (kind.rfind("recorded_", 0) == 0) ++facts, fact_bytes += line.size() + 1;
    else if (kind != "ready" && !is_finding(j)) ++raw;
  }
  ASSERT_GT(raw, 0u);
  std::cerr << "[ replay ] log " << st.st_size << " bytes: " << raw << " raw events, " << facts
            << " recorded facts (" << fact_bytes << " bytes); " << st.st_size / raw << " bytes per event, "
            << fact_bytes / raw << " of them recorded facts\n"
            << "[ replay ] " << replay.err;
  for (const auto& [kind, n] : by_kind) std::cerr << "[ replay ]   " << kind << ": " << n.first << " lines, " << n.second << " bytes\n";
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ReplaySeed,
                         ::testing::Values(runtime_variants()[0], runtime_variants()[1], runtime_variants()[2]),
                         variant_name);

// The passive tier re-reads a namespace because the kernel woke a watch on
// its mountinfo, not because of a kernel event: those decisions go to the
// log as mount_table_changed events, and the leak, seen only through the
// host's own table, replays from them.
class ReplayPassive : public SeedNodeTest {};

TEST_P(ReplayPassive, PassiveTierLogReplaysToTheSameFindings) {
  const std::string log = node_->tmp_dir() + "/trace.jsonl";
  auto trace = std::make_unique<TraceProcess>(with({"--tier", "passive", "--log", log}, node_->cli_args()));
  ASSERT_TRUE(trace->started());
  ASSERT_TRUE(trace->wait_for_event("ready", 20s)) << trace->stderr_text();
  auto naming = [&](const std::string& kind, const fixture::Container& c) {
    return trace->wait_for(
        [&](const nlohmann::json& e) { return e.value("event", "") == kind && !holders_of_container(e, c.id).empty(); },
        15s);  // the sweep that finds the container runs every 2 s
  };
  fixture::Container* leaky = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(leaky, nullptr);
  ASSERT_TRUE(naming("hostpath_risk", *leaky)) << trace->describe();
  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  ASSERT_TRUE(naming("leak", *leaky)) << trace->describe();

  std::this_thread::sleep_for(500ms);
  ASSERT_EQ(kill(trace->pid(), SIGKILL), 0);
  trace->stop();
  const std::multiset<std::string> live = signatures(trace->events());
  ASSERT_GE(live.size(), 2u) << joined(live);

  RunResult replay = run_mountleak({"replay", "--log", log, "-o", "json"});
  ASSERT_EQ(replay.exit_code, 0) << replay.err;
  EXPECT_EQ(joined(signatures(replay.json_lines())), joined(live)) << "replay's stderr: " << replay.err;
  std::ifstream in(log);
  size_t polled = 0;
  for (std::string line; std::getline(in, line);)
    polled += line.find("\"event\":\"mount_table_changed\"") != std::string::npos;
  EXPECT_GT(polled, 0u) << "the log holds no mount_table_changed event";
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ReplayPassive, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
// `trace --release-leaks` on the seed node: at the host's unmount, the real
// tracer unmounts the leaked copies in their own namespaces while their
// holders go on running, says so in `release` events on stdout and in its
// log, and touches nothing else; `replay` of such a log unmounts nothing.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

constexpr auto kFindingTimeout = 10s;

// How many of pid's namespace's mounts are of `dev` (mountinfo's third field).
int mounts_of_device(pid_t pid, DevId dev) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, majmin;
    fields >> id >> parent >> majmin;
    if (majmin == dev.str()) ++n;
  }
  return n;
}

// What `rbd unmap` meets: an exclusive open of the device. 0, or the errno.
int exclusive_open_error(const std::string& device) {
  const int fd = open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

bool is_release_of(const nlohmann::json& e, const fixture::Container& c) {
  return e.value("event", "") == "release" && e["container"].is_object() && e["container"].value("id", "") == c.id;
}

std::vector<nlohmann::json> lines_of(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

class TraceRelease : public SeedNodeTest {
 protected:
  void TearDown() override {
    if (trace_) {
      EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
      trace_.reset();
    }
    for (pid_t& p : helpers_)
      if (p > 0) kill(p, SIGKILL), waitpid(p, nullptr, 0);
    SeedNodeTest::TearDown();
  }
  void start_trace(const std::vector<std::string>& extra) {
    trace_ = std::make_unique<TraceProcess>(with(extra, node_->cli_args()));
    ASSERT_TRUE(trace_->started());
    ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << "no ready event; stderr: " << trace_->stderr_text();
  }
  // A container of `kind`, once the tracer has seen its private copy (so the
  // host's unmount is judged with it in the model).
  fixture::Container* start_seen(ContainerKind kind, const std::string& pod_namespace = "",
                                 std::map<std::string, std::string> pod_labels = {}) {
    fixture::ContainerSpec spec;
    spec.runtime = GetParam().runtime;
    spec.cgroup_driver = GetParam().driver;
    spec.kind = kind;
    spec.pod.namespace_name = pod_namespace;
    spec.pod.labels = std::move(pod_labels);
    auto c = node_->start_container(spec);
    if (!c) {
      ADD_FAILURE() << "container: " << c.error().message;
      return nullptr;
    }
    if (kind == ContainerKind::kLogCollectorPrivate &&
        !trace_->wait_for(
            [&](const nlohmann::json& e) {
              return e.value("event", "") == "mntns_copy" && !holders_of_container(e, (*c)->id).empty();
            },
            kFindingTimeout)) {
      ADD_FAILURE() << "no mntns_copy for " << (*c)->name << ": " << trace_->describe();
      return nullptr;
    }
    return *c;
  }
  void kubelet_unmounts() {
    ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  }
  std::optional<nlohmann::json> wait_leak_of(const fixture::Container& c) {
    return trace_->wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == "leak" && !holders_of_container(e, c.id).empty();
        },
        kFindingTimeout);
  }
  // Several holders' release events come in any order: one already read
  // while waiting for another counts.
  std::optional<nlohmann::json> wait_release_of(const fixture::Container& c) {
    for (const auto& e : trace_->events())
      if (is_release_of(e, c)) return e;
    return trace_->wait_for([&](const nlohmann::json& e) { return is_release_of(e, c); }, 15s);
  }
  // The first event of this kind, already read or still to come: the
  // releaser's record and the model's leak_resolved (from the unmount's own
  // event) race, and waiting for the one skips past the other (seen on
  // 6.12's tracepoint tier: leak_resolved before release).
  std::optional<nlohmann::json> seen_or_wait(const std::string& kind) {
    for (const auto& e : trace_->events())
      if (e.value("event", "") == kind) return e;
    return trace_->wait_for_event(kind, kFindingTimeout);
  }
  // A process whose cwd is the collector's copy of the global mount: the
  // copy is in use, so a plain unmount of it fails with EBUSY.
  // The global mount as the collector sees it.
  std::string global_mount_in(const fixture::Container&) {
    return "/var/lib/kubelet" + node_->global_mount_path().substr(node_->kubelet_root().size());
  }
  pid_t spawn_cwd_in_copy(const fixture::Container& c) {
    const std::string dir = "/proc/" + std::to_string(c.pid) + "/root" + global_mount_in(c);
    pid_t p = spawn_after_setup([&] { return chdir(dir.c_str()) == 0; });
    if (p > 0) helpers_.push_back(p);
    return p;
  }
  std::unique_ptr<TraceProcess> trace_;
  std::vector<pid_t> helpers_;
};

// (1) The leak is released at once: the device is free while its holder runs.
TEST_P(TraceRelease, ReleasesTheLeakedCopyAtTheHostsUnmountAndTheDeviceIsFree) {
  const std::string log = node_->tmp_dir() + "/trace.jsonl";
  start_trace({"--release-leaks", "--log", log});
  fixture::Container* collector = start_seen(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  kubelet_unmounts();

  auto leak = wait_leak_of(*collector);
  ASSERT_TRUE(leak) << trace_->describe() << trace_->stderr_text();
  auto release = wait_release_of(*collector);
  ASSERT_TRUE(release) << trace_->describe() << trace_->stderr_text();
  EXPECT_EQ((*release)["action"], "done") << release->dump(2);
  EXPECT_EQ((*release)["role"], "leak");
  EXPECT_FALSE((*release)["dry_run"].get<bool>());
  EXPECT_FALSE((*release)["unmounted"].empty()) << release->dump(2);
  EXPECT_EQ((*release)["mntns"], holders_of_container(*leak, collector->id)[0]["mntns"]);
  expect_names(*release, *collector, GetParam().expected_runtime);
  // The model follows: the leak is over.
  auto resolved = seen_or_wait("leak_resolved");
  ASSERT_TRUE(resolved) << trace_->describe();
  EXPECT_EQ((*resolved)["reason"], "copies_gone");

  EXPECT_EQ(mounts_of_device(collector->pid, node_->dev_id()), 0);
  EXPECT_EQ(mounts_of_device(getpid(), node_->dev_id()), 0);
  EXPECT_EQ(exclusive_open_error(node_->device_path()), 0) << "the device is still busy";
  EXPECT_EQ(kill(collector->pid, 0), 0) << "the collector was not left running";

  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  bool logged = false;
  for (const auto& line : lines_of(log))
    logged = logged || (line.value("event", "") == "release" && line.value("action", "") == "done" &&
                        line["mntns"] == (*release)["mntns"]);
  EXPECT_TRUE(logged) << "no release line in " << log;
  bool counted = false;
  for (const auto& e : trace_->events())
    if (e.value("event", "") == "stats") counted = e["counters"].value("releases_done", 0) == 1;
  EXPECT_TRUE(counted) << trace_->describe();
  trace_.reset();
}

// (2) Off by default: the leak is reported, and nothing is unmounted.
TEST_P(TraceRelease, WithoutTheOptionNothingIsUnmounted) {
  start_trace({});
  fixture::Container* collector = start_seen(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  const int copies = mounts_of_device(collector->pid, node_->dev_id());
  ASSERT_GT(copies, 0);
  kubelet_unmounts();
  ASSERT_TRUE(wait_leak_of(*collector)) << trace_->describe();
  std::this_thread::sleep_for(2s);  // longer than a release takes (tens of ms)
  EXPECT_EQ(mounts_of_device(collector->pid, node_->dev_id()), copies);
  EXPECT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  for (const auto& e : trace_->events()) EXPECT_NE(e.value("event", ""), "release") << e.dump();
  trace_.reset();
}

// (3) The owner pod, a HostToContainer follower and an fd holder are never
// released; the leak beside them is.
TEST_P(TraceRelease, NeverTouchesTheOwnerAFollowerOrAnFdHolder) {
  start_trace({"--release-leaks"});
  fixture::Container* owner = start_seen(ContainerKind::kVolumeOwner);
  fixture::Container* follower = start_seen(ContainerKind::kLogCollectorSlave);
  fixture::Container* fd_holder = start_seen(ContainerKind::kFdHolder);
  fixture::Container* collector = start_seen(ContainerKind::kLogCollectorPrivate);
  ASSERT_TRUE(owner && follower && fd_holder && collector);
  const int owner_mounts = mounts_of_device(owner->pid, node_->dev_id());
  ASSERT_GT(owner_mounts, 0);
  kubelet_unmounts();

  auto done = wait_release_of(*collector);
  ASSERT_TRUE(done) << trace_->describe() << trace_->stderr_text();
  EXPECT_EQ((*done)["action"], "done") << done->dump(2);
  auto kept = wait_release_of(*owner);
  ASSERT_TRUE(kept) << trace_->describe();
  EXPECT_EQ((*kept)["action"], "kept") << kept->dump(2);
  EXPECT_EQ((*kept)["role"], "owner") << kept->dump(2);
  EXPECT_NE((*kept)["reason"].get<std::string>().find("never touched"), std::string::npos) << kept->dump(2);

  EXPECT_EQ(mounts_of_device(owner->pid, node_->dev_id()), owner_mounts);
  EXPECT_EQ(kill(follower->pid, 0), 0);
  EXPECT_EQ(kill(fd_holder->pid, 0), 0);
  // The fd holder still has the device open: release closes nobody's files.
  EXPECT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  for (const auto& e : trace_->events()) {
    if (e.value("event", "") != "release") continue;
    if (is_release_of(e, *collector)) continue;
    EXPECT_NE(e["action"], "done") << e.dump(2);
    EXPECT_FALSE(is_release_of(e, *follower) || is_release_of(e, *fd_holder)) << e.dump(2);
  }
  trace_.reset();
}

// (4) --release-scope namespace=X: X's holders only; the rest refused, said.
TEST_P(TraceRelease, ScopeReleasesOnlyThatNamespacesHolders) {
  start_trace({"--release-leaks", "--release-scope", "namespace=logging"});
  fixture::Container* in_scope = start_seen(ContainerKind::kLogCollectorPrivate, "logging");
  fixture::Container* outside = start_seen(ContainerKind::kLogCollectorPrivate, "monitoring");
  ASSERT_TRUE(in_scope && outside);
  const int outside_copies = mounts_of_device(outside->pid, node_->dev_id());
  ASSERT_GT(outside_copies, 0);
  kubelet_unmounts();

  auto done = wait_release_of(*in_scope);
  ASSERT_TRUE(done) << trace_->describe();
  EXPECT_EQ((*done)["action"], "done") << done->dump(2);
  auto refused = wait_release_of(*outside);
  ASSERT_TRUE(refused) << trace_->describe();
  EXPECT_EQ((*refused)["action"], "refused") << refused->dump(2);
  EXPECT_NE((*refused)["reason"].get<std::string>().find("out of --release-scope"), std::string::npos)
      << refused->dump(2);

  EXPECT_EQ(mounts_of_device(in_scope->pid, node_->dev_id()), 0);
  EXPECT_EQ(mounts_of_device(outside->pid, node_->dev_id()), outside_copies);
}

// (5) A copy in use fails with EBUSY, said; then replay of the log, with the
// copy no longer in use, must not unmount it.
TEST_P(TraceRelease, ACopyInUseFailsWithEbusyAndReplayNeverUnmounts) {
  const std::string log = node_->tmp_dir() + "/trace.jsonl";
  start_trace({"--release-leaks", "--log", log});
  fixture::Container* collector = start_seen(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  pid_t in_copy = spawn_cwd_in_copy(*collector);
  ASSERT_GT(in_copy, 0);
  kubelet_unmounts();

  auto failed = wait_release_of(*collector);
  ASSERT_TRUE(failed) << trace_->describe() << trace_->stderr_text();
  EXPECT_EQ((*failed)["action"], "failed") << failed->dump(2);
  EXPECT_EQ((*failed)["errno"], "EBUSY") << failed->dump(2);
  EXPECT_NE((*failed)["message"].get<std::string>().find("in use"), std::string::npos) << failed->dump(2);
  EXPECT_EQ((*failed)["failed_at"], global_mount_in(*collector)) << failed->dump(2);
  ASSERT_GT(mounts_of_device(collector->pid, node_->dev_id()), 0);
  EXPECT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  trace_.reset();

  // Nothing holds the copy busy now: a replay that released would free it.
  kill(in_copy, SIGKILL);
  waitpid(in_copy, nullptr, 0);
  helpers_.clear();
  const int copies = mounts_of_device(collector->pid, node_->dev_id());
  RunResult replay = run_mountleak({"replay", "--log", log, "-o", "json"});
  EXPECT_EQ(replay.exit_code, 0) << replay.err;
  bool leak = false;
  for (const auto& e : replay.json_lines()) {
    leak = leak || e.value("event", "") == "leak";
    EXPECT_NE(e.value("event", ""), "release") << e.dump();
  }
  EXPECT_TRUE(leak) << replay.out << replay.err;
  EXPECT_EQ(mounts_of_device(collector->pid, node_->dev_id()), copies);
  EXPECT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  // And the copy could have been released: release itself frees it now.
  RunResult release =
      run_mountleak(with({"release", "--device", node_->device_path(), "--yes", "-o", "json"}, node_->cli_args()));
  EXPECT_EQ(release.exit_code, 0) << release.out << release.err;
  EXPECT_EQ(exclusive_open_error(node_->device_path()), 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TraceRelease, ::testing::Values(runtime_variants()[0]), variant_name);

// label=KEY=VALUE matches a pod label, read from the pod's sandbox record:
// CRI-O and dockershim write it there, containerd's CRI plugin does not, so
// under containerd no pod matches and both collectors are refused.
class TraceReleaseLabels : public TraceRelease {};

TEST_P(TraceReleaseLabels, ALabelScopeReleasesOnlyThatLabelsPodsWhereTheRuntimeRecordsIt) {
  start_trace({"--release-leaks", "--release-scope", "label=app=fluentd"});
  fixture::Container* fluentd = start_seen(ContainerKind::kLogCollectorPrivate, "logging", {{"app", "fluentd"}});
  fixture::Container* other = start_seen(ContainerKind::kLogCollectorPrivate, "logging", {{"app", "promtail"}});
  ASSERT_TRUE(fluentd && other);
  kubelet_unmounts();

  const bool runtime_records_labels = GetParam().expected_runtime != "containerd";
  auto first = wait_release_of(*fluentd);
  ASSERT_TRUE(first) << trace_->describe() << trace_->stderr_text();
  EXPECT_EQ((*first)["action"], runtime_records_labels ? "done" : "refused") << first->dump(2);
  auto second = wait_release_of(*other);
  ASSERT_TRUE(second) << trace_->describe();
  EXPECT_EQ((*second)["action"], "refused") << second->dump(2);
  EXPECT_NE((*second)["reason"].get<std::string>().find("out of --release-scope (label=app=fluentd)"),
            std::string::npos)
      << second->dump(2);
  EXPECT_EQ(mounts_of_device(fluentd->pid, node_->dev_id()) == 0, runtime_records_labels);
  EXPECT_GT(mounts_of_device(other->pid, node_->dev_id()), 0);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TraceReleaseLabels,
                         ::testing::Values(runtime_variants()[0], runtime_variants()[1], runtime_variants()[2]),
                         variant_name);

TEST(TraceReleaseErrors, ScopeWithoutReleaseLeaksOrAMalformedSelectorExitsTwo) {
  RunResult alone = run_mountleak({"trace", "--release-scope", "namespace=logging"});
  EXPECT_EQ(alone.exit_code, 2);
  EXPECT_NE(alone.err.find("--release-leaks"), std::string::npos) << alone.err;
  RunResult label = run_mountleak({"trace", "--release-leaks", "--release-scope", "label=app"});
  EXPECT_EQ(label.exit_code, 2);
  EXPECT_NE(label.err.find("label=KEY=VALUE"), std::string::npos) << label.err;
  RunResult bad = run_mountleak({"trace", "--release-leaks", "--release-scope", "pod=x"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("namespace=NAME"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace mountleak::testing

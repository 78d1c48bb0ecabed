// SPDX-License-Identifier: Apache-2.0
// `mountleak trace --tier passive` as a real process on this kernel: no
// syscall hook at all, namespaces seen at exec (a raw tracepoint) or by the
// sweep of /proc, mount tables watched through the kernel's POLLPRI on
// mountinfo. Each test below can pass only through the path it names.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

// The sweep that finds namespaces runs every 2 s; a finding follows it.
constexpr auto kFindingTimeout = 15s;

const char* const kPassiveHooks[] = {"mntns_create", "setns", "mount", "mount_setattr", "umount", "propagation"};
const char* const kBusyHooks[] = {"rbd_remove_busy", "open_excl_busy", "detach_busy", "dm_remove_busy"};

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

// What `unshare -m CMD` and runc's container init do: a task unshares its
// mount namespace, sets / to `propagation` (MS_SLAVE, MS_PRIVATE), runs
// `setup` there and execs (sleep).
pid_t spawn_exec_in_new_namespace(unsigned long propagation, const std::function<bool()>& setup) {
  return spawn_after_setup(
      [&] {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        return unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | propagation, nullptr) == 0 &&
               setup();
      },
      [] { execl("/bin/sleep", "sleep", "1000", static_cast<char*>(nullptr)); });
}

uint64_t counter(const TraceProcess& trace, const std::string& name) {
  for (const auto& e : trace.events())
    if (e.value("event", "") == "stats") return e["counters"].value(name, uint64_t{0});
  return 0;
}

class TracePassive : public SeedNodeTest {
 protected:
  void TearDown() override {
    if (trace_) {
      EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
      trace_.reset();
    }
    SeedNodeTest::TearDown();
  }
  void start_trace() {
    trace_ = std::make_unique<TraceProcess>(with({"--tier", "passive", "--all-events"}, node_->cli_args()));
    ASSERT_TRUE(trace_->started());
    ready_ = trace_->wait_for_event("ready", 20s);
    ASSERT_TRUE(ready_) << "no ready event; stderr: " << trace_->stderr_text();
  }
  // A private bind of the kubelet root at a new directory, in whatever
  // namespace the caller is in: a hostPath with private propagation.
  std::string bind_target(const std::string& name) {
    std::string target = node_->tmp_dir() + "/" + name;
    EXPECT_EQ(mkdir(target.c_str(), 0755), 0);
    return target;
  }
  bool bind_kubelet_root_privately(const std::string& target) {
    return mount(node_->kubelet_root().c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0 &&
           mount(nullptr, target.c_str(), nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
  }
  std::optional<nlohmann::json> wait_for_risk_at(const std::string& target) {
    return trace_->wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == "hostpath_risk" && e["bind"].value("mountpoint", "") == target;
        },
        kFindingTimeout);
  }
  std::unique_ptr<TraceProcess> trace_;
  std::optional<nlohmann::json> ready_;
};

TEST_P(TracePassive, ReadySaysBusyIsOffAndNoSyscallIsHooked) {
  start_trace();
  EXPECT_EQ((*ready_)["tier_asked"], "passive");
  for (const char* hook : kPassiveHooks) EXPECT_EQ((*ready_)["tier"][hook], "passive") << hook << ready_->dump();
  for (const char* hook : kBusyHooks) EXPECT_TRUE((*ready_)["tier"][hook].is_null()) << hook << ready_->dump();
  // Only the fork and exec raw tracepoints are loaded: nothing an ordinary
  // syscall passes through.
  std::set<std::string> programs;
  for (const auto& hook : (*ready_)["hooks"])
    for (const auto& program : hook["programs"]) programs.insert(program.get<std::string>());
  EXPECT_EQ(programs, (std::set<std::string>{"ml_fork", "ml_exec"})) << ready_->dump();
  // A stop before trace's loop begins ends it without stats.
  std::this_thread::sleep_for(300ms);
  trace_->stop();
  EXPECT_GE(counter(*trace_, "mount_tables_watched"), 1u) << trace_->describe();
}

// The fixture's container never execs: its namespace is found by the sweep,
// and the host's unmount by the host's own mountinfo.
TEST_P(TracePassive, ContainerFoundBySweepYieldsRiskThenLeak) {
  start_trace();
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  auto risk = trace_->wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "hostpath_risk" && !holders_of_container(e, collector->id).empty();
      },
      kFindingTimeout);
  ASSERT_TRUE(risk) << trace_->describe();
  expect_names(holders_of_container(*risk, collector->id)[0], *collector, GetParam().expected_runtime);

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  auto leak = trace_->wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "leak" && !holders_of_container(e, collector->id).empty();
      },
      kFindingTimeout);
  ASSERT_TRUE(leak) << trace_->describe();
  trace_->stop();
  EXPECT_GE(counter(*trace_, "namespaces_found_by_sweep"), 1u);
}

// `unshare -m CMD` and runc's container init: the namespace is made, set
// up, and the task execs. The exec tells, with the task that made it, and
// the namespace is new: a mntns_copy, which the sweep could not make.
TEST_P(TracePassive, ExecInANewNamespaceIsSeenAtTheExec) {
  start_trace();
  const std::string target = bind_target("exec-bind");
  pid_t child = spawn_exec_in_new_namespace(MS_SLAVE, [&] { return bind_kubelet_root_privately(target); });
  ASSERT_GT(child, 0);
  auto seen = trace_->wait_for(
      [&](const nlohmann::json& e) { return e.value("event", "") == "mntns" && e.value("pid", 0) == child; }, 10s);
  // In the order the collector writes them.
  auto risk = wait_for_risk_at(target);
  auto copy = trace_->wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "mntns_copy" && e["creator"].value("pid", 0) == child;
      },
      kFindingTimeout);
  kill_and_reap(child);
  ASSERT_TRUE(seen) << trace_->describe();
  EXPECT_EQ((*seen)["comm"], "sleep");
  ASSERT_TRUE(copy) << trace_->describe();
  ASSERT_TRUE(risk) << trace_->describe();
}

// A namespace the tracer already holds changes later, by a task that
// entered it with setns and never execs: no hook sees that, and the sweep
// reads only namespaces it has not seen. Only the mountinfo poll can tell.
TEST_P(TracePassive, MountInAKnownNamespaceIsSeenThroughItsMountinfo) {
  start_trace();
  pid_t holder = spawn_exec_in_new_namespace(MS_SLAVE, [] { return true; });
  ASSERT_GT(holder, 0);
  auto seen = trace_->wait_for(
      [&](const nlohmann::json& e) { return e.value("event", "") == "mntns" && e.value("pid", 0) == holder; }, 10s);
  ASSERT_TRUE(seen) << trace_->describe();
  std::this_thread::sleep_for(1s);  // long past its first read and its watch's

  const std::string target = bind_target("poll-bind");
  const std::string ns_path = "/proc/" + std::to_string(holder) + "/ns/mnt";
  pid_t joiner = spawn_after_setup([&] {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int ns = open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    return ns >= 0 && setns(ns, CLONE_NEWNS) == 0 && bind_kubelet_root_privately(target);
  });
  auto risk = wait_for_risk_at(target);
  kill_and_reap(joiner);
  kill_and_reap(holder);
  ASSERT_GT(joiner, 0);
  ASSERT_TRUE(risk) << trace_->describe();
  const uint64_t holder_ns = (*seen)["mntns"].get<uint64_t>();
  const bool polled = std::any_of(trace_->events().begin(), trace_->events().end(), [&](const auto& e) {
    return e.value("event", "") == "mount_table_changed" && e.value("seen", "") == "poll" &&
           e.value("mntns", uint64_t{0}) == holder_ns && e.value("tier", "") == "passive";
  });
  EXPECT_TRUE(polled) << "no mount_table_changed (seen: poll) for namespace " << holder_ns;
  trace_->stop();
  EXPECT_GE(counter(*trace_, "mount_table_changes"), 1u);
}

// Whether process `pid` has `path` open (a descriptor's link names it; a
// dead task's file may read "PATH (deleted)").
bool has_open(pid_t pid, const std::string& path) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::error_code link_ec;
    if (std::filesystem::read_symlink(entry.path(), link_ec).string().rfind(path, 0) == 0) return true;
  }
  return false;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// An open mountinfo holds its namespace, and every mount in it: a watch
// kept after the namespace's last task left would make the tracer the leak.
TEST_P(TracePassive, WatchLetsGoOfANamespaceWhenItsTaskExits) {
  start_trace();
  pid_t holder = spawn_exec_in_new_namespace(MS_PRIVATE, [] { return true; });
  ASSERT_GT(holder, 0);
  const std::string mountinfo = "/proc/" + std::to_string(holder) + "/mountinfo";
  const bool watched = eventually([&] { return has_open(trace_->pid(), mountinfo); }, 10s);
  kill_and_reap(holder);
  ASSERT_TRUE(watched) << "trace never opened " << mountinfo << "; " << trace_->describe();
  EXPECT_TRUE(eventually([&] { return !has_open(trace_->pid(), mountinfo); }, 2s))
      << "trace still holds " << mountinfo << " after its task exited";
  trace_->stop();
  EXPECT_GE(counter(*trace_, "mount_table_watches_closed"), 1u);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TracePassive, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing

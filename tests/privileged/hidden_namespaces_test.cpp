// SPDX-License-Identifier: Apache-2.0
// Mount namespaces that a walk of /proc/PID/ns/mnt does not show: one a
// thread made for itself with unshare(CLONE_NEWNS) while its process stayed
// where it was (Go programs do this around LockOSThread): /proc/PID/ns/mnt
// is the leader's namespace, only /proc/PID/task/TID/ns/mnt shows the
// thread's. And one no process is in any more, kept alive by a descriptor
// some process still has open on its nsfs file. Each keeps a private copy of
// the device's mounts.

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <thread>
#include <utility>

#include "mountleak_process.h"
#include "sources/namespace_enumerator.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;

// The thread's half: a namespace of its own with a private copy of every
// mount, then its id sent back and a wait to be killed.
void* unshare_alone(void* arg) {
  const int report = *static_cast<int*>(arg);
  pid_t tid = -1;
  if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0)
    tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (write(report, &tid, sizeof tid) != sizeof tid) _exit(1);
  for (;;) pause();
}

// A child process whose leader stays in our namespace while one of its
// threads leaves for its own. Returns the child's pid and the thread's id
// (-1 and -1 when the kernel refused).
std::pair<pid_t, pid_t> spawn_thread_apart() {
  int report[2];
  if (pipe(report) != 0) return {-1, -1};
  const pid_t child = fork();
  if (child == 0) {
    close(report[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pthread_t thread;
    if (pthread_create(&thread, nullptr, unshare_alone, &report[1]) != 0) _exit(1);
    for (;;) pause();
  }
  close(report[1]);
  pid_t tid = -1;
  if (child < 0 || read(report[0], &tid, sizeof tid) != sizeof tid) tid = -1;
  close(report[0]);
  if (tid <= 0 && child > 0) kill(child, SIGKILL), waitpid(child, nullptr, 0), tid = -1;
  return {tid > 0 ? child : -1, tid};
}

// A child process that keeps, on a descriptor, a mount namespace no
// process is in: its own child made it (every mount private) and exited.
// Returns the keeper's pid and the descriptor (-1 and -1 on failure).
std::pair<pid_t, int> spawn_descriptor_keeper() {
  int report[2];
  if (pipe(report) != 0) return {-1, -1};
  const pid_t keeper = fork();
  if (keeper == 0) {
    close(report[0]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int made[2];
    int fd = -1;
    if (pipe(made) == 0) {
      const pid_t maker = fork();
      if (maker == 0) {
        char ok = unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
        if (write(made[1], &ok, 1) != 1) _exit(1);
        pause();
        _exit(0);
      }
      char ok = 0;
      if (maker > 0 && read(made[0], &ok, 1) == 1 && ok)
        fd = open(("/proc/" + std::to_string(maker) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
      if (maker > 0) kill(maker, SIGKILL), waitpid(maker, nullptr, 0);
    }
    if (write(report[1], &fd, sizeof fd) != sizeof fd || fd < 0) _exit(1);
    for (;;) pause();
  }
  close(report[1]);
  int fd = -1;
  if (keeper < 0 || read(report[0], &fd, sizeof fd) != sizeof fd) fd = -1;
  close(report[0]);
  if (fd < 0 && keeper > 0) kill(keeper, SIGKILL), waitpid(keeper, nullptr, 0);
  return {fd >= 0 ? keeper : -1, fd};
}

bool has_pid(const nlohmann::json& holder, int pid) {
  if (!holder.contains("pids") || !holder["pids"].is_array()) return false;
  auto pids = holder["pids"].get<std::vector<int>>();
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

// The holders of an event or scan object whose pids include `pid`.
std::vector<nlohmann::json> holders_with_pid(const nlohmann::json& event, int pid) {
  std::vector<nlohmann::json> out;
  for (const auto& h : event.value("holders", nlohmann::json::array()))
    if (has_pid(h, pid)) out.push_back(h);
  return out;
}

// The holders of a leak event that name a descriptor keeping their namespace.
std::vector<nlohmann::json> held_open_holders(const nlohmann::json& event) {
  std::vector<nlohmann::json> out;
  for (const auto& h : event.value("holders", nlohmann::json::array()))
    if (h.contains("held_open_by")) out.push_back(h);
  return out;
}

class HiddenNamespaces : public SeedNodeTest {
 protected:
  void TearDown() override {
    if (trace_) {
      EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
      trace_.reset();
    }
    if (child_ > 0) kill(child_, SIGKILL), waitpid(child_, nullptr, 0);
    SeedNodeTest::TearDown();
  }
  // The thread apart; its process is killed in TearDown whatever happens.
  pid_t thread_apart() {
    auto [child, tid] = spawn_thread_apart();
    child_ = child;
    return tid;
  }
  std::optional<nlohmann::json> holders_object(const RunResult& r) {
    for (const auto& line : r.json_lines())
      if (line.value("event", "") == "holders" && line["device"].value("major", 0u) == node_->dev_id().major &&
          line["device"].value("minor", 0u) == node_->dev_id().minor)
        return line;
    return std::nullopt;
  }
  // The kubelet unmounts; trace's leak must name the keeper's descriptor,
  // with no process in the namespace.
  void expect_leak_names_descriptor(pid_t keeper, int fd) {
    ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node_->kubelet_unmount_global().ok());
    auto leak = trace_->wait_for(
        [&](const nlohmann::json& e) { return e.value("event", "") == "leak" && !held_open_holders(e).empty(); },
        10s);
    ASSERT_TRUE(leak) << trace_->describe();
    auto held = held_open_holders(*leak);
    EXPECT_EQ(held[0]["held_open_by"]["pid"], keeper) << leak->dump(2);
    EXPECT_EQ(held[0]["held_open_by"]["fd"], fd) << leak->dump(2);
    EXPECT_TRUE(held[0]["pids"].empty()) << held[0].dump();
    EXPECT_NE(held[0]["hint"].get<std::string>().find("descriptor " + std::to_string(fd)), std::string::npos)
        << held[0].dump();
  }
  pid_t child_ = -1;
  std::unique_ptr<TraceProcess> trace_;
};

TEST_P(HiddenNamespaces, ScanNamesAThreadThatUnsharedAlone) {
  const pid_t tid = thread_apart();
  ASSERT_GT(tid, 0) << "the kernel refused a thread its own mount namespace";
  ASSERT_NE(tid, child_);

  RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()));
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  auto device = holders_object(r);
  ASSERT_TRUE(device) << r.out;
  auto held = holders_with_pid(*device, tid);
  ASSERT_EQ(held.size(), 1u) << device->dump(2);
  EXPECT_EQ(held[0]["role"], "leak") << held[0].dump();
  EXPECT_FALSE(has_pid(held[0], child_)) << "the process is not in the thread's namespace: " << held[0].dump();
}

TEST_P(HiddenNamespaces, TraceNamesTheLeakAThreadKeepsAfterTheHostUnmounts) {
  trace_ = std::make_unique<TraceProcess>(node_->cli_args());
  ASSERT_TRUE(trace_->started());
  ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << trace_->stderr_text();

  const pid_t tid = thread_apart();
  ASSERT_GT(tid, 0) << "the kernel refused a thread its own mount namespace";
  // The model learns the namespace from the thread's unshare; give the
  // re-read its tick before the host unmounts.
  std::this_thread::sleep_for(500ms);
  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());

  auto leak = trace_->wait_for(
      [&](const nlohmann::json& e) { return e.value("event", "") == "leak" && !holders_with_pid(e, tid).empty(); },
      10s);
  ASSERT_TRUE(leak) << trace_->describe();
  EXPECT_EQ(holders_with_pid(*leak, tid)[0]["role"], "leak") << leak->dump(2);
}

TEST_P(HiddenNamespaces, ScanNamesTheProcessWhoseDescriptorAloneKeepsANamespace) {
  auto [keeper, fd] = spawn_descriptor_keeper();
  child_ = keeper;
  ASSERT_GT(keeper, 0) << "could not keep a mount namespace on a descriptor";

  RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()));
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  auto device = holders_object(r);
  ASSERT_TRUE(device) << r.out;
  std::vector<nlohmann::json> held;
  for (const auto& h : (*device)["holders"])
    if (h.contains("held_open_by")) held.push_back(h);
  ASSERT_EQ(held.size(), 1u) << device->dump(2);
  EXPECT_EQ(held[0]["held_open_by"]["pid"], keeper) << held[0].dump();
  EXPECT_EQ(held[0]["held_open_by"]["fd"], fd) << held[0].dump();
  EXPECT_EQ(held[0]["role"], "leak") << held[0].dump();
  EXPECT_TRUE(held[0]["pids"].empty()) << held[0].dump();
  EXPECT_NE(held[0]["hint"].get<std::string>().find("descriptor " + std::to_string(fd) + " of process " +
                                                    std::to_string(keeper)),
            std::string::npos)
      << held[0].dump();

  // --no-fds walks no descriptor: the namespace is not looked for.
  RunResult quick =
      run_mountleak(with({"scan", "-o", "json", "--no-fds", "--device", node_->device_path()}, node_->cli_args()));
  auto quick_device = holders_object(quick);
  ASSERT_TRUE(quick_device) << quick.out << quick.err;
  for (const auto& h : (*quick_device)["holders"]) EXPECT_FALSE(h.contains("held_open_by")) << h.dump();

  // release does not enter through another process's descriptor: it says
  // whom to stop.
  RunResult release =
      run_mountleak(with({"release", "-o", "json", "--yes", "--device", node_->device_path()}, node_->cli_args()));
  EXPECT_EQ(release.exit_code, 1) << release.out << release.err;
  bool refused = false;
  for (const auto& line : release.json_lines())
    if (line.value("event", "") == "release" && line.contains("held_open_by")) {
      refused = line.value("action", "") == "refused" &&
                line.value("reason", "").find("descriptor " + std::to_string(fd)) != std::string::npos;
    }
  EXPECT_TRUE(refused) << release.out;
}

// Already kept by a descriptor when trace starts: its first read of the
// node finds it, as scan does.
TEST_P(HiddenNamespaces, TraceStartedLaterNamesTheDescriptorKeepingALeakedCopy) {
  auto [keeper, fd] = spawn_descriptor_keeper();
  child_ = keeper;
  ASSERT_GT(keeper, 0) << "could not keep a mount namespace on a descriptor";
  trace_ = std::make_unique<TraceProcess>(node_->cli_args());
  ASSERT_TRUE(trace_->started());
  ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << trace_->stderr_text();
  expect_leak_names_descriptor(keeper, fd);
}

// The namespace's last process exits while trace runs and a descriptor
// keeps it: trace keeps it too (without it, the leak went unreported: the
// model had dropped the namespace with its last process).
TEST_P(HiddenNamespaces, TraceKeepsANamespaceWhoseLastProcessLeftWhileADescriptorHoldsIt) {
  trace_ = std::make_unique<TraceProcess>(node_->cli_args());
  ASSERT_TRUE(trace_->started());
  ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << trace_->stderr_text();
  auto [keeper, fd] = spawn_descriptor_keeper();
  child_ = keeper;
  ASSERT_GT(keeper, 0) << "could not keep a mount namespace on a descriptor";
  // Past a liveness sweep: the namespace's only process is gone by then.
  std::this_thread::sleep_for(3s);
  expect_leak_names_descriptor(keeper, fd);
}

// A descriptor can be swapped between the look at its link and the open:
// the reader must refuse a namespace file that is not the one named.
TEST(NsfsReader, RefusesANamespaceFileThatIsNotTheOneNamed) {
  struct stat own {};
  ASSERT_EQ(stat("/proc/self/ns/mnt", &own), 0);
  auto right = read_mountinfo_via_nsfs("/proc", {NsfsHop{"", "/proc/self/ns/mnt", own.st_ino}});
  ASSERT_TRUE(right) << right.error().message;
  auto wrong = read_mountinfo_via_nsfs("/proc", {NsfsHop{"", "/proc/self/ns/mnt", own.st_ino + 1}});
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().errno_value, ESTALE) << wrong.error().message;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, HiddenNamespaces, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing

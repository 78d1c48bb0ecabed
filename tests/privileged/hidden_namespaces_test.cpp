// SPDX-License-Identifier: Apache-2.0
// Mount namespaces that a walk of /proc/PID/ns/mnt does not show: one a
// thread made for itself with unshare(CLONE_NEWNS) while its process stayed
// where it was (Go programs do this around LockOSThread). /proc/PID/ns/mnt
// is the leader's namespace; only /proc/PID/task/TID/ns/mnt shows the
// thread's, and with it a private copy of the device's mounts.

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
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

INSTANTIATE_TEST_SUITE_P(Runtimes, HiddenNamespaces, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing

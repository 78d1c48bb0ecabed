// SPDX-License-Identifier: Apache-2.0
// Paths and descriptors a process controls, where mountleak must neither
// block nor be steered: a FUSE file system that stops answering (as a dead
// FUSE or NFS server does), and a busy path that climbs out of the failing
// process's root with "..". The trace must go on, the scan must finish, and
// no child mountleak started may be left waiting.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "fixture/fs_util.h"
#include "fixture/unanswering_fuse.h"
#include "mountleak_process.h"
#include "seed_test_support.h"
#include "sources/deadline_child.h"
#include "sources/process_path.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A child that chdirs to `cwd` (if given), opens `open_path` (if given) and
// then waits to be killed; -1 when either failed.
pid_t holder(const std::string& cwd, const std::string& open_path) {
  return spawn_after_setup([&] {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) return false;
    return open_path.empty() || open(open_path.c_str(), O_RDONLY) >= 0;
  });
}

void stop(pid_t& pid) {
  if (pid > 0) kill(pid, SIGKILL), waitpid(pid, nullptr, 0);
  pid = -1;
}

// Children of `pid` still alive or unreaped (every thread's list).
std::string children_of(pid_t pid) {
  std::string out;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(task)) {
    std::ifstream in(entry.path() / "children");
    std::string line;
    std::getline(in, line);
    out += line;
  }
  return out;
}

// A seed node with the unanswering file system mounted in its temp dir.
class UnansweringFuseTest : public SeedNodeTest {
 protected:
  void SetUp() override {
    SeedNodeTest::SetUp();
    ASSERT_NE(node_, nullptr);
    const std::string dir = node_->tmp_dir() + "/fuse";
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    auto fuse = fixture::UnansweringFuse::mount(dir, node_->global_mount_path());
    ASSERT_TRUE(fuse) << fuse.error().message;
    fuse_ = std::move(*fuse);
  }
  void TearDown() override {
    for (pid_t& p : holders_) stop(p);
    fuse_.reset();  // before the node: it lives in the node's temp dir
    SeedNodeTest::TearDown();
  }
  // Looks the name up once, so that the next lookup is never answered.
  void use_up(const std::string& name) {
    struct stat st {};
    ASSERT_EQ(fstatat(AT_FDCWD, fuse_->path(name).c_str(), &st, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC), 0)
        << name << ": " << strerror(errno);
  }
  std::unique_ptr<fixture::UnansweringFuse> fuse_;
  std::vector<pid_t> holders_;
};

// A child started by the lookup and killed at its deadline stays until the
// server lets its request go; then it is reaped, and nothing is left.
TEST_P(UnansweringFuseTest, LookupGivesUpAtItsDeadlineAndLeavesNothing) {
  use_up("file");
  const auto started = Clock::now();
  auto facts = stat_in_process_root("/proc", getpid(), AT_FDCWD, fuse_->path("file"), 300ms);
  EXPECT_LT(Clock::now() - started, 2s);
  ASSERT_FALSE(facts);
  EXPECT_EQ(facts.error().errno_value, ETIMEDOUT) << facts.error().message;
  EXPECT_NE(facts.error().message.find("does not respond"), std::string::npos) << facts.error().message;
  EXPECT_EQ(reap_abandoned_children(), 1u) << "the killed lookup should still be stuck in FUSE";
  fuse_.reset();  // the server goes: its requests fail, the stuck child exits
  size_t left = 1;
  for (int i = 0; i < 100 && left > 0; ++i) {
    left = reap_abandoned_children();
    if (left > 0) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(left, 0u);
  EXPECT_EQ(children_of(getpid()), "");
}

// A working directory and a descriptor on the file system, each looked up
// once (by the holder itself), then never answered again: `scan` follows
// neither through the file system, so it finishes and still names the
// process holding the device.
TEST_P(UnansweringFuseTest, ScanWalksDescriptorsWithoutWaiting) {
  holders_.push_back(holder(fuse_->path("dir"), ""));
  holders_.push_back(holder("", fuse_->path("file")));
  const std::string on_device = node_->global_mount_path() + "/held-open";
  ASSERT_TRUE(fixture::write_file(on_device, "x"));
  holders_.push_back(holder("", on_device));
  for (pid_t p : holders_) ASSERT_GT(p, 0);

  const auto started = Clock::now();
  RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()),
                              std::chrono::seconds(60));
  EXPECT_LT(Clock::now() - started, 20s);
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err << r.out;
  auto lines = r.json_lines();
  ASSERT_GE(lines.size(), 2u) << r.out;
  bool named = false;
  for (const auto& h : lines[0]["holders"])
    for (const auto& fd : h.value("fds", nlohmann::json::array()))
      named = named || (h.value("role", "") == "fd" && fd.value("pid", 0) == holders_[2]);
  EXPECT_TRUE(named) << lines[0].dump();
  EXPECT_GE(lines.back()["counters"].value("fds_from_mount_table", 0), 1) << lines.back().dump();
}

// The stats event a stopped trace printed last.
nlohmann::json final_stats(const TraceProcess& trace) {
  for (auto it = trace.events().rbegin(); it != trace.events().rend(); ++it)
    if (it->value("event", "") == "stats") return (*it)["counters"];
  return nullptr;
}

// Fails umount2(path) with EBUSY while a file on the node's device is open.
void fail_umount_busy(const std::string& path) {
  ASSERT_EQ(umount2(path.c_str(), 0), -1) << path;
  ASSERT_EQ(errno, EBUSY) << path << ": " << strerror(errno);
}

// A file on the node's device held open while `first` runs, then a failed
// umount2 of its mount: the busy finding a test waits for, to know the
// tracer has handled everything before it.
std::optional<nlohmann::json> node_busy_finding(TraceProcess& trace, const std::string& mount,
                                                const std::function<void()>& first = [] {}) {
  const int open_file = open((mount + "/busy-file").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  EXPECT_GE(open_file, 0) << strerror(errno);
  if (open_file < 0) return std::nullopt;
  first();
  fail_umount_busy(mount);
  // By pid: the kernel tier names only the mount point's last component.
  auto busy = trace.wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "busy" && e["process"].value("pid", 0) == getpid();
      },
      15s);
  close(open_file);
  return busy;
}

// The path of a failed umount leads through the file system (a symlink on
// it, to the node's busy mount), whose server answered the kernel once and
// never answers again. On the tracepoint tier the tracer looks the path up
// to name the device: the lookup gives up at its deadline, and the next
// busy event is still reported.
TEST_P(UnansweringFuseTest, TraceGoesOnPastAnUnansweredBusyPath) {
  TraceProcess trace(node_->cli_args());
  ASSERT_TRUE(trace.started());
  auto ready = trace.wait_for_event("ready", 20s);
  ASSERT_TRUE(ready) << trace.stderr_text();
  const bool looks_up_paths = (*ready)["tier"]["umount"] == "tracepoint";
  auto busy = node_busy_finding(trace, node_->global_mount_path(), [&] { fail_umount_busy(fuse_->path("link")); });
  ASSERT_TRUE(busy) << trace.describe();
  EXPECT_EQ((*busy)["device_from"], looks_up_paths ? "mount_table" : "kernel") << busy->dump();
  for (const auto& e : trace.events())
    EXPECT_FALSE(e.value("event", "") == "busy" && e.value("path", "") == fuse_->path("link")) << e.dump();

  fuse_.reset();  // the stuck lookup, killed already, can now exit
  std::this_thread::sleep_for(3s);  // a sweep (every 2 s) reaps it
  EXPECT_EQ(children_of(trace.pid()), "");
  ASSERT_EQ(trace.stop(), 0) << trace.stderr_text();
  nlohmann::json stats = final_stats(trace);
  ASSERT_TRUE(stats.is_object()) << trace.describe();
  EXPECT_GE(stats.value("unresolved_busy", 0), 1) << stats.dump();
  if (looks_up_paths) {
    EXPECT_GE(stats.value("busy_path_timeouts", 0), 1) << stats.dump();
    EXPECT_EQ(stats.value("lookups_stuck", -1), 0) << stats.dump();
  }
}

// A file named rbd/remove on FUSE, not on sysfs, whose write fails with
// EBUSY as rbd's does: the rbd hook reads only sysfs's own files, so no
// rbd_remove event is made of it, even among raw events.
TEST_P(UnansweringFuseTest, LookalikeRbdRemoveIsNotCaptured) {
  TraceProcess trace(with({"--all-events"}, node_->cli_args()));
  ASSERT_TRUE(trace.started());
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  const int remove = open(fuse_->path("rbd/remove").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(remove, 0) << strerror(errno);
  EXPECT_EQ(write(remove, "0", 1), -1);
  EXPECT_EQ(errno, EBUSY);
  close(remove);

  ASSERT_TRUE(node_busy_finding(trace, node_->global_mount_path())) << trace.describe();
  for (const auto& e : trace.events())
    EXPECT_NE(e.value("source", ""), "rbd_remove") << e.dump();
}

INSTANTIATE_TEST_SUITE_P(Runtimes, UnansweringFuseTest, ::testing::Values(runtime_variants()[0]), variant_name);


// A process in a root of its own (a chroot, as in a container) fails to
// unmount a tmpfs of its own with EBUSY, naming it by a path whose ".."
// climbs above its root, and by the path that names the node's mount in
// the namespace's mount table. The kernel stays inside that root; so must the
// tracer: resolved from mountleak's root, the same words name the node's
// tracked device, and the trace would report a busy device that nobody
// tried to unmount.
class TraceBusyPathInRoot : public SeedNodeTest {};

TEST_P(TraceBusyPathInRoot, DotDotCannotNameAnotherDevice) {
  TraceProcess trace(node_->cli_args());
  ASSERT_TRUE(trace.started());
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  const std::string mount = node_->global_mount_path();
  const std::string root = node_->tmp_dir() + "/chroot";
  ASSERT_TRUE(fixture::make_dirs(root + mount));
  ASSERT_EQ(::mount("own", (root + mount).c_str(), "tmpfs", 0, nullptr), 0) << strerror(errno);

  const std::string climbing = "/../../../../../.." + mount;
  int result[2];
  ASSERT_EQ(pipe(result), 0);
  const pid_t child = fork();
  if (child == 0) {
    int err = -1;
    // Also by the very words that name the node's mount in the namespace's
    // mount table.
    if (chroot(root.c_str()) == 0 && chdir("/") == 0 &&
        open((mount + "/file").c_str(), O_CREAT | O_RDWR, 0600) >= 0 && umount2(climbing.c_str(), 0) != 0 &&
        errno == EBUSY && umount2(mount.c_str(), 0) != 0)
      err = errno;
    (void)!write(result[1], &err, sizeof err);
    pause();  // alive while the tracer looks the path up in its root
    _exit(0);
  }
  close(result[1]);
  int err = 0;
  const bool reported = read(result[0], &err, sizeof err) == static_cast<ssize_t>(sizeof err);
  close(result[0]);
  pid_t child_left = child;
  struct Reaper {
    pid_t& pid;
    ~Reaper() { stop(pid); }
  } reaper{child_left};
  ASSERT_TRUE(reported);
  ASSERT_EQ(err, EBUSY) << strerror(err);

  // A real busy failure on the node's device, after it, to wait for.
  auto busy = node_busy_finding(trace, mount);
  stop(child_left);
  umount2((root + mount).c_str(), MNT_DETACH);
  ASSERT_TRUE(busy) << trace.describe();
  for (const auto& e : trace.events())
    EXPECT_FALSE(e.value("event", "") == "busy" && e["process"].value("pid", 0) == child) << e.dump();
  ASSERT_EQ(trace.stop(), 0) << trace.stderr_text();
  EXPECT_GE(final_stats(trace).value("unresolved_busy", 0), 2) << final_stats(trace).dump();
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TraceBusyPathInRoot, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing

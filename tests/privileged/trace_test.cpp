// SPDX-License-Identifier: Apache-2.0
// `mountleak trace` as a real process with its programs attached to this
// kernel, watching the seed node: every finding the issue names, from the
// container that causes it.

#include <fcntl.h>
#include <linux/loop.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <set>

#include "model/mountinfo.h"
#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

constexpr auto kFindingTimeout = 10s;

// The tier the tracer is expected to pick for its main hooks: "tracepoint"
// on this project's development kernel, "kernel" in the VM lane's Debian
// kernel (tests/vm sets MOUNTLEAK_TEST_EXPECT_TIER).
std::string expected_tier() {
  const char* tier = getenv("MOUNTLEAK_TEST_EXPECT_TIER");
  return tier && *tier ? tier : "tracepoint";
}

// The kind of program expected to serve those hooks, when the VM lane forces
// one: "kprobe" (MOUNTLEAK_TEST_EXPECT_PROGRAMS) where fentry is turned off,
// so that a tracer that ignored --no-feature and kept fexit cannot pass as
// the kprobe tier. Empty: not checked.
std::string expected_programs() {
  const char* kind = getenv("MOUNTLEAK_TEST_EXPECT_PROGRAMS");
  return kind && *kind ? kind : "";
}

// The kernel tier names paths by their last component only.
bool same_path(const nlohmann::json& reported, const std::string& full) {
  std::string r = reported.is_string() ? reported.get<std::string>() : "";
  if (expected_tier() == "tracepoint") return r == full;
  return !r.empty() && full.size() >= r.size() && full.compare(full.size() - r.size(), r.size(), r) == 0;
}

// Every finding seen so far (raw kernel events left out), for failure messages.
std::string findings_text(const TraceProcess& trace) {
  std::string out;
  for (const auto& e : trace.events()) {
    std::string kind = e.value("event", "");
    if (kind == "hostpath_risk" || kind == "mntns_copy" || kind == "leak" || kind == "busy" || kind == "lost" ||
        kind == "resync")
      out += e.dump() + "\n";
  }
  return out.empty() ? "no findings; events: " + trace.describe() : out;
}

bool names_container(const nlohmann::json& e, const std::string& kind, const fixture::Container& c) {
  return e.value("event", "") == kind && !holders_of_container(e, c.id).empty();
}

class TraceSeed : public SeedNodeTest {
 protected:
  void TearDown() override {
    if (trace_) {
      int code = trace_->stop();
      EXPECT_EQ(code, 0) << trace_->stderr_text();
      trace_.reset();
    }
    SeedNodeTest::TearDown();
  }
  void start_trace(const std::vector<std::string>& extra = {}) {
    trace_ = std::make_unique<TraceProcess>(with(extra, node_->cli_args()));
    ASSERT_TRUE(trace_->started());
    auto ready = trace_->wait_for_event("ready", 20s);
    ASSERT_TRUE(ready) << "no ready event; stderr: " << trace_->stderr_text();
    for (const char* hook :
         {"mntns_create", "setns", "mount", "mount_setattr", "umount", "open_excl_busy", "detach_busy"})
      EXPECT_EQ((*ready)["tier"][hook], expected_tier()) << ready->dump();
    if (expected_programs() == "kprobe")
      for (const auto& hook : (*ready)["hooks"]) {
        if (hook.value("tier", "") != "kernel") continue;
        for (const auto& program : hook["programs"]) {
          const std::string name = program.get<std::string>();
          EXPECT_TRUE(name.rfind("ml_kprobe_", 0) == 0 || name.rfind("ml_kretprobe_", 0) == 0)
              << hook.value("hook", "?") << " is served by " << name << ", not a kprobe";
        }
      }
  }
  std::optional<nlohmann::json> wait_naming(const std::string& kind, const fixture::Container& c,
                                            std::chrono::milliseconds timeout = kFindingTimeout) {
    return trace_->wait_for([&](const nlohmann::json& e) { return names_container(e, kind, c); }, timeout);
  }
  std::unique_ptr<TraceProcess> trace_;
};

TEST_P(TraceSeed, PrivateLogCollectorYieldsRiskCopyAndLeak) {
  start_trace();
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  const std::string runtime = GetParam().expected_runtime;

  auto risk = wait_naming("hostpath_risk", *collector);
  ASSERT_TRUE(risk) << trace_->describe();
  expect_names(holders_of_container(*risk, collector->id)[0], *collector, runtime);
  EXPECT_EQ((*risk)["bind"]["propagation"], "private") << risk->dump();
  EXPECT_EQ((*risk)["bind"]["source"], node_->kubelet_root()) << risk->dump();
  EXPECT_EQ((*risk)["bind"]["mountpoint"], "/var/lib/kubelet") << risk->dump();

  auto copy = wait_naming("mntns_copy", *collector);
  ASSERT_TRUE(copy) << trace_->describe();
  expect_names(holders_of_container(*copy, collector->id)[0], *collector, runtime);
  EXPECT_EQ((*copy)["creator"]["pid"], collector->pid) << copy->dump();

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  auto leak = wait_naming("leak", *collector);
  ASSERT_TRUE(leak) << trace_->describe();
  ASSERT_EQ((*leak)["holders"].size(), 1u) << leak->dump(2);
  const auto& holder = (*leak)["holders"][0];
  expect_names(holder, *collector, runtime);
  EXPECT_EQ(holder["role"], "leak");
  EXPECT_EQ((*leak)["unmounted_by"]["pid"], getpid()) << leak->dump();
}

TEST_P(TraceSeed, SlaveLogCollectorYieldsNeitherRiskNorCopy) {
  start_trace();
  fixture::Container* slave = start(ContainerKind::kLogCollectorSlave);
  ASSERT_NE(slave, nullptr);
  // A private collector started after it must be reported: this proves the
  // tracer saw the slave one's setup too, and judged it harmless.
  fixture::Container* leaky = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(leaky, nullptr);
  ASSERT_TRUE(wait_naming("hostpath_risk", *leaky)) << trace_->describe();
  ASSERT_TRUE(wait_naming("mntns_copy", *leaky)) << trace_->describe();

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  ASSERT_TRUE(wait_naming("leak", *leaky)) << trace_->describe();
  trace_->stop();
  for (const auto& e : trace_->events())
    for (const char* kind : {"hostpath_risk", "mntns_copy", "leak"})
      EXPECT_FALSE(names_container(e, kind, *slave)) << e.dump();
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TraceSeed,
                         ::testing::Values(runtime_variants()[0], runtime_variants()[1], runtime_variants()[2]),
                         variant_name);

class TraceBusy : public TraceSeed {};

TEST_P(TraceBusy, ExclusiveOpenAndUmountFailuresNameTheHolder) {
  start_trace();
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  ASSERT_TRUE(wait_naming("hostpath_risk", *collector)) << trace_->describe();

  // An exclusive open of a mounted block device fails with EBUSY.
  int fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL);
  int err = errno;
  if (fd >= 0) close(fd);
  ASSERT_EQ(fd, -1);
  ASSERT_EQ(err, EBUSY);
  auto busy = wait_naming("busy", *collector);
  ASSERT_TRUE(busy) << trace_->describe();
  EXPECT_EQ((*busy)["source"], "open_excl");
  EXPECT_EQ((*busy)["process"]["pid"], getpid());
  if (expected_tier() == "tracepoint") {
    EXPECT_EQ((*busy)["path"], node_->device_path());
  }
  expect_names(holders_of_container(*busy, collector->id)[0], *collector, GetParam().expected_runtime);

  // umount2 of a mount with an open file fails with EBUSY.
  std::string file = node_->global_mount_path() + "/busy-file";
  int open_file = open(file.c_str(), O_CREAT | O_RDWR, 0600);
  ASSERT_GE(open_file, 0);
  ASSERT_EQ(umount2(node_->global_mount_path().c_str(), 0), -1);
  ASSERT_EQ(errno, EBUSY);
  auto umount_busy = trace_->wait_for(
      [&](const nlohmann::json& e) { return names_container(e, "busy", *collector) && e["source"] == "umount"; },
      kFindingTimeout);
  close(open_file);
  ASSERT_TRUE(umount_busy) << trace_->describe();
  EXPECT_TRUE(same_path((*umount_busy)["path"], node_->global_mount_path())) << umount_busy->dump();
  EXPECT_EQ((*umount_busy)["process"]["pid"], getpid());
  EXPECT_LT((*umount_busy)["latency_us"].get<uint64_t>(), 1000000u);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, TraceBusy, ::testing::Values(runtime_variants()[0]), variant_name);

// A child in a new mount namespace, a slave of ours, that runs `setup` there
// and then waits to be killed; -1 when setup failed.
pid_t spawn_in_new_namespace(const std::function<bool()>& setup) {
  return spawn_after_setup([&] {
    return unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) == 0 && setup();
  });
}

// A private bind of `source` at `target` in a new namespace, by the new
// mount API or by mount(2).
pid_t spawn_binder(const std::string& source, const std::string& target, bool new_api) {
  return spawn_in_new_namespace([&] {
    if (!new_api)
      return mount(source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) == 0 &&
             mount(nullptr, target.c_str(), nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
    int tree = open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | AT_RECURSIVE);
    struct mount_attr attr {};
    attr.propagation = MS_PRIVATE;
    return tree >= 0 && mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) == 0 &&
           move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) == 0;
  });
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
}

TEST_P(TraceBusy, BindsByMountAndByTheNewMountApiAreBothCaught) {
  start_trace({"--all-events"});
  for (bool new_api : {false, true}) {
    SCOPED_TRACE(new_api ? "open_tree/move_mount" : "mount(2)");
    std::string target = node_->tmp_dir() + (new_api ? "/bind-new-api" : "/bind-mount2");
    ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
    pid_t binder = spawn_binder(node_->kubelet_root(), target, new_api);
    ASSERT_GT(binder, 0);
    // The kernel tier sees the attach itself (a "mount" event) rather than
    // the syscalls of the new mount API.
    const char* raw = new_api && expected_tier() == "tracepoint" ? "move_mount" : "mount";
    auto bind_event = trace_->wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == raw && e.value("pid", 0) == binder &&
                 (new_api || e.value("flags", "").find("MS_BIND") != std::string::npos);
        },
        10s);
    auto risk = trace_->wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == "hostpath_risk" && e["bind"].value("mountpoint", "") == target;
        },
        kFindingTimeout);
    kill_and_reap(binder);
    ASSERT_TRUE(bind_event) << trace_->describe();
    if (new_api && expected_tier() == "tracepoint") {
      bool open_tree_seen = std::any_of(trace_->events().begin(), trace_->events().end(), [&](const auto& e) {
        return e.value("event", "") == "open_tree" && e.value("pid", 0) == binder;
      });
      EXPECT_TRUE(open_tree_seen) << trace_->describe();
    } else if (!new_api) {
      EXPECT_NE((*bind_event)["flags"].get<std::string>().find("MS_BIND"), std::string::npos);
    }
    ASSERT_TRUE(risk) << findings_text(*trace_);
    EXPECT_EQ((*risk)["bind"]["source"], node_->kubelet_root());
    EXPECT_EQ((*risk)["holders"][0]["role"], "leak");
  }
}

// The tracked mounts the tracer's model holds when it stops.
std::set<std::pair<uint64_t, std::string>> model_mounts_at_stop(TraceProcess& trace) {
  trace.stop();
  std::set<std::pair<uint64_t, std::string>> out;
  for (const auto& e : trace.events())
    if (e.value("event", "") == "stats")
      for (const auto& m : e["tracked_mounts"]) out.insert({m["mntns"].get<uint64_t>(), m["mountpoint"]});
  return out;
}

// The hooks with no finding of their own: entering a namespace, changing
// propagation with mount_setattr, and a block-device ioctl failing with
// EBUSY (binding the already bound loop device, the busy "detach" source).
TEST_P(TraceBusy, SetnsMountSetattrAndBlockIoctlAreSeen) {
  start_trace({"--all-events"});
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  ASSERT_TRUE(wait_naming("hostpath_risk", *collector)) << trace_->describe();

  int device = open(node_->device_path().c_str(), O_RDONLY);
  ASSERT_GE(device, 0);
  int backing = open("/dev/null", O_RDONLY);
  int rc = ioctl(device, LOOP_SET_FD, backing);
  int err = errno;
  close(backing);
  close(device);
  ASSERT_EQ(rc, -1);
  ASSERT_EQ(err, EBUSY);
  auto busy = trace_->wait_for(
      [&](const nlohmann::json& e) { return names_container(e, "busy", *collector) && e["source"] == "detach"; },
      kFindingTimeout);
  ASSERT_TRUE(busy) << findings_text(*trace_);
  EXPECT_EQ((*busy)["process"]["pid"], getpid());

  pid_t target = spawn_in_new_namespace([] { return true; });
  ASSERT_GT(target, 0);
  int status_pipe[2];
  ASSERT_EQ(pipe(status_pipe), 0);
  pid_t joiner = fork();
  if (joiner == 0) {
    close(status_pipe[0]);
    int ns = open(("/proc/" + std::to_string(target) + "/ns/mnt").c_str(), O_RDONLY);
    struct mount_attr attr {};
    attr.propagation = MS_PRIVATE;
    char ok = ns >= 0 && setns(ns, CLONE_NEWNS) == 0 &&
              mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof(attr)) == 0;
    if (write(status_pipe[1], &ok, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  close(status_pipe[1]);
  char ok = 0;
  bool read_ok = read(status_pipe[0], &ok, 1) == 1;
  close(status_pipe[0]);
  auto event_of = [&](const char* kind) {
    return trace_->wait_for(
        [&](const nlohmann::json& e) { return e.value("event", "") == kind && e.value("pid", 0) == joiner; },
        kFindingTimeout);
  };
  auto setns_event = event_of("setns");
  auto setattr_event = event_of("mount_setattr");
  struct stat target_ns {};
  bool target_known = stat(("/proc/" + std::to_string(target) + "/ns/mnt").c_str(), &target_ns) == 0;
  kill_and_reap(joiner);
  kill_and_reap(target);
  ASSERT_TRUE(read_ok && ok) << "setns or mount_setattr failed in the child";
  ASSERT_TRUE(setns_event) << trace_->describe();
  ASSERT_TRUE(target_known);
  EXPECT_EQ((*setns_event)["mntns"], target_ns.st_ino) << setns_event->dump();
  EXPECT_EQ((*setns_event)["tier"], expected_tier());
  ASSERT_TRUE(setattr_event) << trace_->describe();
  EXPECT_EQ((*setattr_event)["tier"], expected_tier());
  EXPECT_EQ((*setattr_event)["mntns"], target_ns.st_ino) << setattr_event->dump();
  // The call's own arguments, as every tier reads them (the kprobe tier
  // through the syscall wrapper's inner registers).
  EXPECT_EQ((*setattr_event)["dfd"], AT_FDCWD) << setattr_event->dump();
  EXPECT_EQ((*setattr_event)["path"], "/") << setattr_event->dump();
  EXPECT_EQ((*setattr_event)["flags"], AT_RECURSIVE) << setattr_event->dump();
  EXPECT_EQ((*setattr_event)["propagation"], "MS_PRIVATE") << setattr_event->dump();
}

TEST_P(TraceBusy, PropagatedCopiesReachTheModelThroughTheKernelTierHook) {
  // With the collector's own propagation reconcile off, only the kernel
  // tier's propagate_mnt hook can tell the model about a copy the kernel
  // made in another namespace.
  // A namespace that is a slave of ours: mounts made here propagate into it.
  pid_t slave = spawn_in_new_namespace([] { return true; });
  ASSERT_GT(slave, 0);
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&slave, [](pid_t* p) { kill_and_reap(*p); });
  start_trace({"--no-propagation-reconcile"});
  std::string target = node_->tmp_dir() + "/propagated";
  ASSERT_EQ(mkdir(target.c_str(), 0755), 0);
  ASSERT_EQ(mount(node_->global_mount_path().c_str(), target.c_str(), nullptr, MS_BIND, nullptr), 0);
  // The kernel did propagate it: the slave has the copy.
  std::ifstream slave_mounts("/proc/" + std::to_string(slave) + "/mountinfo");
  std::string text((std::istreambuf_iterator<char>(slave_mounts)), std::istreambuf_iterator<char>());
  bool slave_has_copy = false;
  for (const auto& m : parse_mountinfo(text, "slave").mounts)
    slave_has_copy |= m.dev == node_->dev_id() && m.mount_point == target;
  ASSERT_TRUE(slave_has_copy);
  usleep(500 * 1000);  // longer than the collector's settle time

  struct stat st {};
  ASSERT_EQ(stat(("/proc/" + std::to_string(slave) + "/ns/mnt").c_str(), &st), 0);
  auto model = model_mounts_at_stop(*trace_);
  trace_.reset();
  bool model_has_copy = model.count({st.st_ino, target}) > 0;
  if (expected_tier() == "kernel")
    EXPECT_TRUE(model_has_copy) << "the propagation hook did not bring the copy into the model";
  else
    EXPECT_FALSE(model_has_copy) << "without the kernel tier and without reconcile nothing should";
  umount2(target.c_str(), MNT_DETACH);
}

// Mount points of the device in this (the host) namespace, as the kernel has them.
std::set<std::string> host_mounts_of(DevId dev) {
  std::ifstream in("/proc/self/mountinfo");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::set<std::string> out;
  for (const auto& m : parse_mountinfo(text, "/proc/self/mountinfo").mounts)
    if (m.dev == dev) out.insert(m.mount_point);
  return out;
}

TEST_P(TraceBusy, RingBufferOverflowIsReportedAndTheModelResyncs) {
  // One page of ring buffer holds four events, and a stopped collector
  // drains none: the storm must overflow it.
  start_trace({"--ringbuf-kb", "4"});
  ASSERT_EQ(kill(trace_->pid(), SIGSTOP), 0);
  std::string storm = node_->tmp_dir() + "/storm";
  ASSERT_EQ(mkdir(storm.c_str(), 0755), 0);
  for (int i = 0; i < 2000; ++i) {
    ASSERT_EQ(mount(node_->global_mount_path().c_str(), storm.c_str(), nullptr, MS_BIND, nullptr), 0);
    ASSERT_EQ(umount2(storm.c_str(), 0), 0);
  }
  // The storm's end state: three binds remain.
  for (int i = 0; i < 3; ++i) {
    std::string keep = storm + "-keep" + std::to_string(i);
    ASSERT_EQ(mkdir(keep.c_str(), 0755), 0);
    ASSERT_EQ(mount(node_->global_mount_path().c_str(), keep.c_str(), nullptr, MS_BIND, nullptr), 0);
  }
  ASSERT_EQ(kill(trace_->pid(), SIGCONT), 0);
  auto lost = trace_->wait_for_event("lost", 10s);
  ASSERT_TRUE(lost) << trace_->describe();
  EXPECT_GT((*lost)["count"].get<uint64_t>(), 0u);
  ASSERT_TRUE(trace_->wait_for_event("resync", 10s)) << trace_->describe();

  EXPECT_EQ(trace_->stop(), 0);
  const nlohmann::json* stats = nullptr;
  for (const auto& e : trace_->events())
    if (e.value("event", "") == "stats") stats = &e;
  ASSERT_NE(stats, nullptr) << trace_->describe();
  EXPECT_GT((*stats)["counters"]["kernel_dropped_ringbuf"].get<uint64_t>(), 0u);
  std::set<std::string> model;
  for (const auto& m : (*stats)["tracked_mounts"])
    if (m["device"] == node_->dev_id().str()) model.insert(m["mountpoint"].get<std::string>());
  // The model's view of the host equals the kernel's: every remaining bind,
  // none of the storm's transient ones.
  std::set<std::string> kernel = host_mounts_of(node_->dev_id());
  for (const auto& mp : kernel) EXPECT_TRUE(model.count(mp)) << "model misses " << mp;
  EXPECT_FALSE(model.count(storm)) << "model kept a transient storm mount";
  trace_.reset();
}

}  // namespace
}  // namespace mountleak::testing

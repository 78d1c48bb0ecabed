// SPDX-License-Identifier: Apache-2.0
// tracefs on a node that never mounted it (issue 11): `probe` and `trace`
// attach their tracepoint programs without mounting tracefs anywhere, not
// even for a moment, and without a namespace of their own; with debugfs
// mounted they do not trigger its tracing automount either; a tracefs that
// is mounted is used where it is and never held; and when no tracefs can
// be reached, they say how to mount it.
//
// This binary's private namespace plays the host's. Each test first takes
// tracefs and debugfs out of it and puts back what was there afterwards.

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture/fs_util.h"
#include "fixture/private_namespace.h"
#include "model/mountinfo.h"
#include "mountleak_process.h"
#include "sources/procfs.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kTracing = "/sys/kernel/tracing";
constexpr const char* kDebug = "/sys/kernel/debug";
constexpr const char* kDebugTracing = "/sys/kernel/debug/tracing";
// probe on the tracepoint tier, whatever else the kernel offers.
const std::vector<std::string> kTracepointTier = {"--no-feature", "fentry,kprobe"};
// trace there too, with every raw event shown.
const std::vector<std::string> kTraceArgs = {"--no-feature", "fentry,kprobe", "--all-events"};

std::vector<MountEntry> mounts_of(const std::string& pid) {
  const std::string path = "/proc/" + pid + "/mountinfo";
  auto text = read_file(path);
  EXPECT_TRUE(text) << text.error().message;
  return text ? parse_mountinfo(*text, path).mounts : std::vector<MountEntry>{};
}

// "mount point (fs type)" of every mount of these types in pid's namespace.
std::vector<std::string> mounts_of_type(const std::string& pid, const std::vector<std::string>& types) {
  std::vector<std::string> out;
  for (const auto& m : mounts_of(pid))
    for (const auto& type : types)
      if (m.fs_type == type) out.push_back(m.mount_point + " (" + m.fs_type + ")");
  return out;
}

std::vector<std::string> tracefs_mounts(const std::string& pid = "self") { return mounts_of_type(pid, {"tracefs"}); }

bool mounted_at(const std::string& point, const std::string& type) {
  for (const auto& m : mounts_of("self"))
    if (m.mount_point == point && m.fs_type == type) return true;
  return false;
}

ino_t mount_namespace_of(const std::string& pid) {
  struct stat st {};
  return stat(("/proc/" + pid + "/ns/mnt").c_str(), &st) == 0 ? st.st_ino : 0;
}

std::string text_of(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Whether the test namespace's mount table changed at all since it was
// made: a mountinfo file polls POLLPRI once its namespace mounts or
// unmounts anything after it was read. Catches a mount made and removed
// again, which no look at the table afterwards can see.
class MountTableWatch {
 public:
  MountTableWatch() : fd_(open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) {
    char buf[4096];
    while (fd_ >= 0 && read(fd_, buf, sizeof buf) > 0) {
    }
  }
  ~MountTableWatch() {
    if (fd_ >= 0) close(fd_);
  }
  MountTableWatch(const MountTableWatch&) = delete;
  MountTableWatch& operator=(const MountTableWatch&) = delete;
  bool changed() const {
    pollfd p{fd_, POLLPRI, 0};
    return fd_ < 0 || (poll(&p, 1, 0) == 1 && (p.revents & (POLLPRI | POLLERR)));
  }

 private:
  int fd_;
};

// fsopen(2) refused with EPERM, as a container runtime's seccomp profile
// may: installed in the child just before exec. No architecture check: the
// filter only ever sees our own binary, built for this machine.
bool refuse_fsopen() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_fsopen, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

class Tracefs : public ::testing::Test {
 protected:
  void SetUp() override {
    // Unmounting below is only ever done in the namespace main() made.
    ASSERT_TRUE(fixture::in_private_mount_namespace());
    had_tracefs_ = mounted_at(kTracing, "tracefs");
    had_debugfs_ = mounted_at(kDebug, "debugfs");
    clear();
    ASSERT_EQ(mounts_of_type("self", {"tracefs", "debugfs"}), std::vector<std::string>{})
        << "could not take tracefs and debugfs out of the test namespace";
  }
  void TearDown() override {
    clear();
    if (had_tracefs_) {
      EXPECT_EQ(mount("nodev", kTracing, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), 0);
    }
    if (had_debugfs_) {
      EXPECT_EQ(mount("debugfs", kDebug, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), 0);
    }
  }
  // Every tracefs and debugfs, stacked ones too, from the test namespace.
  static void clear() {
    for (const char* point : {kDebugTracing, kDebug, kTracing})
      for (int i = 0; i < 8; ++i)
        if (umount2(point, MNT_DETACH) != 0) break;
  }
  // `mountleak probe -o json ARGS...`, its one JSON line.
  static nlohmann::json probe(const std::vector<std::string>& args, const Launch& launch = {}) {
    std::vector<std::string> full = {"probe", "-o", "json"};
    full.insert(full.end(), args.begin(), args.end());
    RunResult r = run_mountleak(full, 60s, launch);
    auto lines = r.json_lines();
    EXPECT_EQ(lines.size(), 1u) << r.out << r.err;
    return lines.empty() ? nlohmann::json::object() : lines[0];
  }
  // Starts a trace on the tracepoint tier; its ready event, checked for the
  // tier and for having made no namespace and mounted no tracefs.
  nlohmann::json start_trace(TraceProcess& trace) {
    auto ready = trace.wait_for_event("ready", 20s);
    EXPECT_TRUE(ready) << trace.stderr_text();
    if (!ready) return nlohmann::json::object();
    for (const char* hook : {"mntns_create", "setns", "mount", "umount"})
      EXPECT_EQ((*ready)["tier"][hook], "tracepoint") << ready->dump();
    const std::string pid = std::to_string(trace.pid());
    EXPECT_EQ(mount_namespace_of(pid), mount_namespace_of("self")) << "trace made a mount namespace of its own";
    EXPECT_EQ(tracefs_mounts(pid), tracefs_mounts("self")) << "trace's own namespace";
    return *ready;
  }
  // The tracepoints work: a tmpfs mounted here is seen.
  void expect_sees_a_mount(TraceProcess& trace) {
    char tmpl[] = "/tmp/mountleak-tracefs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    const std::string target = tmpl;
    ASSERT_EQ(mount("tracefs-test", target.c_str(), "tmpfs", 0, nullptr), 0);
    auto seen = trace.wait_for(
        [&](const nlohmann::json& e) { return e.value("event", "") == "mount" && e.value("target", "") == target; },
        10s);
    EXPECT_TRUE(seen) << "the tracepoint programs see nothing: " << trace.describe();
    umount2(target.c_str(), MNT_DETACH);
    EXPECT_TRUE(fixture::remove_tree(target));
  }

  bool had_tracefs_ = false;
  bool had_debugfs_ = false;
};

TEST_F(Tracefs, ProbeWithoutTracefsMountsNone) {
  MountTableWatch watch;
  nlohmann::json out = probe(kTracepointTier);
  EXPECT_FALSE(watch.changed()) << "probe mounted or unmounted something in the test namespace";
  EXPECT_EQ(out["tracefs"]["available"], true) << out.dump();
  EXPECT_TRUE(contains(text_of(out["tracefs"], "detail"), "detached tracefs mount")) << out.dump();
  EXPECT_EQ(out["programs"]["tracepoint"]["available"], true) << out.dump();
  EXPECT_EQ(out["load"]["loaded"], true) << out.dump();
  for (const char* hook : {"mntns_create", "setns", "mount", "umount"})
    EXPECT_EQ(out["tier"][hook], "tracepoint") << out.dump();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{});
}

TEST_F(Tracefs, TraceWithoutTracefsMountsNoneAndMakesNoNamespace) {
  MountTableWatch watch;
  TraceProcess trace(kTraceArgs);
  ASSERT_TRUE(trace.started());
  nlohmann::json ready = start_trace(trace);
  EXPECT_FALSE(watch.changed()) << "trace mounted or unmounted something in the test namespace";
  EXPECT_TRUE(contains(text_of(ready, "tracefs"), "detached tracefs mount")) << ready.dump();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{}) << "while trace runs";
  expect_sees_a_mount(trace);
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{}) << "after trace";
}

// debugfs's "tracing" is an automount point: reading anything below it
// mounts tracefs there, in the reader's namespace, and it stays. libbpf 1.1
// reads tracepoint ids there whenever debugfs is mounted.
TEST_F(Tracefs, DebugfsTracingAutomountIsNeverTriggered) {
  ASSERT_EQ(mount("debugfs", kDebug, "debugfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), 0);
  MountTableWatch watch;
  // Every program type, kprobes included: without the kprobe PMU libbpf
  // would write tracefs's kprobe_events there.
  nlohmann::json out = probe({});
  EXPECT_FALSE(watch.changed()) << "probe mounted or unmounted something in the test namespace";
  EXPECT_TRUE(contains(text_of(out["tracefs"], "detail"), "detached tracefs mount")) << out.dump();
  EXPECT_EQ(out["programs"]["tracepoint"]["available"], true) << out.dump();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{}) << "after probe";

  TraceProcess trace(kTraceArgs);
  ASSERT_TRUE(trace.started());
  nlohmann::json ready = start_trace(trace);
  EXPECT_TRUE(contains(text_of(ready, "tracefs"), "detached tracefs mount")) << ready.dump();
  expect_sees_a_mount(trace);
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{}) << "after trace";
}

// A mounted tracefs is used where it is, and never held: the node can
// unmount it under a running trace.
TEST_F(Tracefs, MountedTracefsIsUsedAndNotHeld) {
  ASSERT_EQ(mount("nodev", kTracing, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr), 0);
  TraceProcess trace(kTraceArgs);
  ASSERT_TRUE(trace.started());
  nlohmann::json ready = start_trace(trace);
  EXPECT_EQ(text_of(ready, "tracefs"), std::string("mounted at ") + kTracing) << ready.dump();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{std::string(kTracing) + " (tracefs)"});
  EXPECT_EQ(umount2(kTracing, 0), 0) << "busy under trace: " << std::strerror(errno);
  expect_sees_a_mount(trace);
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
}

// Nothing mounted and fsopen(2) refused: tracepoints cannot attach, and
// both commands say how to mount tracefs.
TEST_F(Tracefs, UnreachableTracefsSaysHowToMountIt) {
  const std::string how = "mount -t tracefs nodev /sys/kernel/tracing";
  Launch refused;
  refused.enter = refuse_fsopen;
  nlohmann::json out = probe(kTracepointTier, refused);
  EXPECT_EQ(out["tracefs"]["available"], false) << out.dump();
  EXPECT_TRUE(contains(text_of(out["tracefs"], "detail"), how)) << out.dump();
  EXPECT_TRUE(contains(text_of(out["tracefs"], "detail"), "fsopen: EPERM")) << out.dump();
  EXPECT_EQ(out["programs"]["tracepoint"]["available"], false) << out.dump();

  TraceProcess trace(kTraceArgs, refused);
  ASSERT_TRUE(trace.started());
  // Started or refused, trace names the way out.
  auto ready = trace.wait_for_event("ready", 20s);
  const std::string said = ready ? text_of(*ready, "tracefs") : trace.stderr_text();
  EXPECT_TRUE(contains(said, how)) << said;
  trace.stop();
  EXPECT_EQ(tracefs_mounts(), std::vector<std::string>{});
}

}  // namespace
}  // namespace mountleak::testing

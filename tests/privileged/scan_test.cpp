// SPDX-License-Identifier: Apache-2.0
// `mountleak scan` on the seed node: the real binary, real namespaces,
// loop device and cgroups, and each runtime's metadata layout.

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
#include <cstdlib>
#include <cstring>
#include <memory>

#include "fixture/unanswering_fuse.h"
#include "mountleak_process.h"
#include "seed_test_support.h"
#include "sources/statmount_reader.h"

namespace mountleak::testing {
namespace {

using fixture::ContainerKind;

class ScanSeed : public SeedNodeTest {
 protected:
  RunResult scan(const std::vector<std::string>& args) {
    return run_mountleak(with(with({"scan", "-o", "json"}, args), node_->cli_args()));
  }
  // The one "holders" object of a scan's output for our device, if any.
  std::optional<nlohmann::json> device_object(const RunResult& r) {
    for (const auto& line : r.json_lines())
      if (line.value("event", "") == "holders" && line["device"].value("major", 0u) == node_->dev_id().major &&
          line["device"].value("minor", 0u) == node_->dev_id().minor)
        return line;
    return std::nullopt;
  }
};

TEST_P(ScanSeed, NamesTheLeakingLogCollectorAndItsPod) {
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);

  RunResult r = scan({"--device", node_->device_path()});
  ASSERT_EQ(r.exit_code, 1) << r.err;  // something holds what should be free
  auto device = device_object(r);
  ASSERT_TRUE(device) << r.out;
  auto held = holders_of_container(*device, collector->id);
  ASSERT_EQ(held.size(), 1u) << device->dump(2);
  const nlohmann::json& h = held.front();
  EXPECT_EQ(h["role"], "leak");
  expect_names(h, *collector, GetParam().expected_runtime);
  EXPECT_EQ(h["propagation"], "private");
  EXPECT_NE(h["via"].get<std::string>().find("private propagation"), std::string::npos) << h["via"];
  EXPECT_NE(h["hint"].get<std::string>().find("HostToContainer"), std::string::npos) << h["hint"];
  auto pids = h["pids"].get<std::vector<int>>();
  EXPECT_NE(std::find(pids.begin(), pids.end(), collector->pid), pids.end()) << h["pids"];

  // After the kubelet unmounts, --all reports the device as leaked, held by
  // the collector alone.
  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  RunResult all = scan({"--all"});
  ASSERT_EQ(all.exit_code, 1) << all.err;
  auto leaked = device_object(all);
  ASSERT_TRUE(leaked) << all.out;
  EXPECT_FALSE((*leaked)["host_mounted"].get<bool>());
  EXPECT_TRUE((*leaked)["leaked"].get<bool>());
  ASSERT_EQ((*leaked)["holders"].size(), 1u) << leaked->dump(2);
  expect_names((*leaked)["holders"][0], *collector, GetParam().expected_runtime);
}

TEST_P(ScanSeed, SlavePropagationNamesNothing) {
  fixture::Container* collector = start(ContainerKind::kLogCollectorSlave);
  ASSERT_NE(collector, nullptr);
  RunResult all = scan({"--all"});
  EXPECT_EQ(all.exit_code, 0) << all.out << all.err;
  EXPECT_FALSE(device_object(all)) << all.out;

  // Asked about the device by name, the collector is shown as a harmless
  // follower, never as a leak.
  RunResult named = scan({"--device", node_->device_path()});
  EXPECT_EQ(named.exit_code, 0) << named.err;
  auto device = device_object(named);
  ASSERT_TRUE(device);
  for (const auto& h : holders_of_container(*device, collector->id)) EXPECT_EQ(h["role"], "follower");

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  RunResult after = scan({"--all"});
  EXPECT_EQ(after.exit_code, 0) << after.out;
  EXPECT_FALSE(device_object(after)) << after.out;
}

TEST_P(ScanSeed, ReportsTheOwnerPodAsOwnerNotLeak) {
  fixture::Container* owner = start(ContainerKind::kVolumeOwner);
  ASSERT_NE(owner, nullptr);
  RunResult r = scan({"--all"});
  EXPECT_EQ(r.exit_code, 0) << r.err;  // nothing to act on
  auto device = device_object(r);
  ASSERT_TRUE(device) << r.out;  // held by host and owner: shown
  auto held = holders_of_container(*device, owner->id);
  ASSERT_EQ(held.size(), 1u) << device->dump(2);
  EXPECT_EQ(held[0]["role"], "owner");
  expect_names(held[0], *owner, GetParam().expected_runtime);
  EXPECT_EQ(held[0]["pod"]["uid"], node_->owner_pod().uid);
  EXPECT_FALSE((*device)["leaked"].get<bool>());
}

TEST_P(ScanSeed, ReportsTheFileDescriptorHolder) {
  fixture::Container* holder = start(ContainerKind::kFdHolder);
  ASSERT_NE(holder, nullptr);
  RunResult r = scan({"--device", node_->device_path()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto device = device_object(r);
  ASSERT_TRUE(device) << r.out;
  auto held = holders_of_container(*device, holder->id);
  ASSERT_FALSE(held.empty()) << device->dump(2);
  EXPECT_EQ(held[0]["role"], "fd");
  expect_names(held[0], *holder, GetParam().expected_runtime);
  ASSERT_TRUE(held[0].contains("fds"));
  EXPECT_EQ(held[0]["fds"][0]["pid"], holder->pid);
}

TEST_P(ScanSeed, NamespacePinnedByNsfsWithNoProcessIsReported) {
  // A namespace with a private copy of every mount, the device's included,
  // kept alive only by a bind mount of its nsfs file (what `unshare
  // --mount=FILE` leaves): no process is in it, so lsns and /proc/*/mounts
  // miss it.
  std::string pins = node_->tmp_dir() + "/pins";
  std::string pin = pins + "/mnt";
  ASSERT_EQ(mkdir(pins.c_str(), 0755), 0);
  pid_t pinner = -1;
  for (int attempt = 0; attempt < 20 && pinner <= 0; ++attempt) pinner = spawn_pinner(pins);
  ASSERT_GT(pinner, 0) << "could not pin a mount namespace";
  // Reaped whatever happens below, so a failing assertion leaks nothing.
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&pinner, [](pid_t* p) {
    kill(*p, SIGKILL);
    waitpid(*p, nullptr, 0);
  });
  RunResult r = scan({"--device", node_->device_path()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto device = device_object(r);
  ASSERT_TRUE(device) << r.out;
  bool found = false;
  for (const auto& h : (*device)["holders"]) {
    if (!h.contains("pinned_at")) continue;
    found = true;
    EXPECT_EQ(h["role"], "leak") << h.dump();
    EXPECT_TRUE(h["pids"].empty()) << h.dump();
    EXPECT_NE(h["pinned_at"].get<std::string>().find(pin), std::string::npos) << h.dump();
  }
  EXPECT_TRUE(found) << device->dump(2);
}

INSTANTIATE_TEST_SUITE_P(Runtimes, ScanSeed, ::testing::ValuesIn(runtime_variants()), variant_name);

// A container puts something else where its nsfs pin is (the pin stays in
// its mountinfo, covered): scan must neither block on it nor follow it out
// of the container, must say what it skipped, and must still finish.
class HostilePin : public SeedNodeTest {
 protected:
  void pin() {
    pins_ = node_->tmp_dir() + "/pins";
    ASSERT_EQ(mkdir(pins_.c_str(), 0755), 0);
    for (int attempt = 0; attempt < 20 && pinner_ <= 0; ++attempt) pinner_ = spawn_pinner(pins_);
    ASSERT_GT(pinner_, 0) << "could not pin a mount namespace";
  }
  void TearDown() override {
    if (pinner_ > 0) kill(pinner_, SIGKILL), waitpid(pinner_, nullptr, 0);
    SeedNodeTest::TearDown();
  }
  // Runs a shell command in the pinner's mount namespace.
  void in_pinner(const std::string& command) {
    std::string line = "nsenter -t " + std::to_string(pinner_) + " -m sh -c '" + command + "'";
    ASSERT_EQ(std::system(line.c_str()), 0) << line;
  }
  void expect_skipped_and_finished() {
    auto started = std::chrono::steady_clock::now();
    RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()),
                                std::chrono::seconds(30));
    auto took = std::chrono::steady_clock::now() - started;
    EXPECT_LT(took, std::chrono::seconds(10));
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err;
    auto lines = r.json_lines();
    ASSERT_FALSE(lines.empty());
    std::string warnings = lines.back()["warnings"].dump();
    EXPECT_NE(warnings.find(pins_ + "/mnt"), std::string::npos) << warnings;
    EXPECT_NE(warnings.find("not a namespace file"), std::string::npos) << warnings;
  }
  std::string pins_;
  pid_t pinner_ = -1;
};

TEST_P(HostilePin, FifoOverThePinIsNotOpened) {
  pin();
  in_pinner("mkfifo " + pins_ + "/fifo && mount --bind " + pins_ + "/fifo " + pins_ + "/mnt");
  expect_skipped_and_finished();
}

TEST_P(HostilePin, SymlinkOutOfTheContainerIsNotFollowed) {
  pin();
  // A fresh tmpfs over the pins directory, with the pin's name now an
  // absolute symlink to mountleak's own namespace file.
  in_pinner("mount -t tmpfs hostile " + pins_ + " && ln -s /proc/self/ns/mnt " + pins_ + "/mnt");
  expect_skipped_and_finished();
}

TEST_P(HostilePin, DotDotOutOfTheContainerIsNotFollowed) {
  pin();
  in_pinner("mount -t tmpfs hostile " + pins_ + " && ln -s ../../../../../../../../proc/self/ns/mnt " + pins_ +
            "/mnt");
  expect_skipped_and_finished();
}

// Binds `source` over `target` in the mount namespace of `pid`, with
// mount(2) itself: mount(8) would stat the source first.
bool bind_in_namespace_of(pid_t pid, const std::string& source, const std::string& target) {
  const std::string ns = "/proc/" + std::to_string(pid) + "/ns/mnt";
  const pid_t child = fork();
  if (child == 0) {
    const int fd = open(ns.c_str(), O_RDONLY | O_CLOEXEC);
    _exit(fd >= 0 && setns(fd, CLONE_NEWNS) == 0 &&
                  mount(source.c_str(), target.c_str(), nullptr, MS_BIND, nullptr) == 0
              ? 0
              : 1);
  }
  int status = 0;
  return child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A file of a FUSE file system that stopped answering, bound over the pin:
// the reader's fstatfs waits for the server, and is killed at its deadline.
TEST_P(HostilePin, UnansweringFuseOverThePinIsGivenUp) {
  const std::string fuse_dir = node_->tmp_dir() + "/fuse";
  ASSERT_EQ(mkdir(fuse_dir.c_str(), 0755), 0);
  auto fuse = fixture::UnansweringFuse::mount(fuse_dir, "/");
  ASSERT_TRUE(fuse) << fuse.error().message;
  pin();  // after the mount: the pinner's namespace has a copy of it
  ASSERT_TRUE(bind_in_namespace_of(pinner_, (*fuse)->path("file"), pins_ + "/mnt"));
  auto started = std::chrono::steady_clock::now();
  RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()),
                              std::chrono::seconds(30));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(15));
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.exit_code << r.err;
  auto lines = r.json_lines();
  ASSERT_FALSE(lines.empty());
  std::string warnings = lines.back()["warnings"].dump();
  EXPECT_NE(warnings.find(pins_ + "/mnt"), std::string::npos) << warnings;
  EXPECT_NE(warnings.find("does not respond"), std::string::npos) << warnings;
}

INSTANTIATE_TEST_SUITE_P(Runtimes, HostilePin, ::testing::Values(runtime_variants()[0]), variant_name);

TEST(ScanErrors, MissingDeviceIsAClearErrorWithNonZeroExit) {
  RunResult r = run_mountleak({"scan", "--device", "/dev/mountleak-no-such-device"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/dev/mountleak-no-such-device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

TEST(ScanErrors, NotABlockDevice) {
  RunResult r = run_mountleak({"scan", "--device", "/dev/null"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("not a block device"), std::string::npos) << r.err;
}

TEST(ScanOnThisHost, HostNamespaceFallbackIsSaid) {
  // PID 1's namespace file is unreadable on some hosts (this one); the scan
  // must say which namespace it took instead.
  RunResult r = run_mountleak({"scan", "--all", "-o", "json"});
  ASSERT_NE(r.exit_code, 2) << r.err;
  auto lines = r.json_lines();
  ASSERT_FALSE(lines.empty());
  const auto& summary = lines.back();
  EXPECT_EQ(summary["event"], "scan_summary");
  // statmount where the kernel has every field it needs, else mountinfo and why.
  const MountTableChoice here = choose_mount_table_on("/proc", MountTableMethod::kAuto);
  EXPECT_EQ(summary["method"], here.method) << summary.dump();
  if (here.statmount) {
    EXPECT_TRUE(summary["method_note"].is_null()) << summary.dump();
  } else {
    EXPECT_EQ(summary["method_note"], here.reason) << summary.dump();
  }
  EXPECT_FALSE(summary["host_mntns_source"].get<std::string>().empty());
}

}  // namespace
}  // namespace mountleak::testing

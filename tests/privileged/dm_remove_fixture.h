// SPDX-License-Identifier: Apache-2.0
#pragma once

// A dm-linear device over a loop device holding an ext4, and the leak that
// makes its `dmsetup remove` fail with EBUSY: shared by TraceDmRemove
// (dm_remove_test.cpp) and TraceLateModule (late_module_test.cpp, dm_mod
// loaded after trace started). SetUp needs dm_mod loaded.

#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "fixture/command.h"
#include "fixture/container_process.h"
#include "fixture/loop_device.h"
#include "mountleak_process.h"

namespace mountleak::testing {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kImageMiB = 16;

// "tracepoint" unless the vm lane says which tier it forced or expects.
inline std::string expected_tier() {
  const char* tier = getenv("MOUNTLEAK_TEST_EXPECT_TIER");
  return tier && *tier ? tier : "tracepoint";
}

inline std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

inline uint64_t mntns_of(pid_t pid) {
  struct stat st {};
  if (stat(("/proc/" + std::to_string(pid) + "/ns/mnt").c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// The kernel name ("dm-0") of the dm device called `name`, from sysfs.
inline std::string dm_kernel_name(const std::string& name) {
  std::string found;
  if (DIR* dir = opendir("/sys/block")) {
    while (const dirent* de = readdir(dir))
      if (std::strncmp(de->d_name, "dm-", 3) == 0 &&
          first_line(std::string("/sys/block/") + de->d_name + "/dm/name") == name)
        found = de->d_name;
    closedir(dir);
  }
  return found;
}

class TraceDmRemove : public ::testing::Test {
 protected:
  void SetUp() override {
    // Device-mapper must be there: this suite exists to try a real remove.
    ASSERT_EQ(access("/sys/module/dm_mod", F_OK), 0)
        << "no device-mapper on this kernel (/sys/module/dm_mod): TraceDmRemove runs in the vm lane's "
           "guests, whose Debian kernel has dm_mod; ctest leaves it out on hosts without it";
    // No udev in the guest (or in a test's namespace): libdevmapper makes
    // its /dev/mapper nodes itself and waits for no udev cookie.
    setenv("DM_DISABLE_UDEV", "1", 1);
    char templ[] = "/tmp/mountleak-dm-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    mnt_ = dir_ + "/mnt";
    for (const char* sub : {"/mnt", "/empty", "/root"}) fs::create_directories(dir_ + sub);
    name_ = "mountleak-test-" + std::to_string(getpid());

    const std::string image = dir_ + "/disk.img";
    {
      std::ofstream(image).close();
      fs::resize_file(image, kImageMiB << 20);
    }
    auto mkfs = fixture::run_command({"mkfs.ext4", "-q", "-F", image});
    ASSERT_TRUE(mkfs.ok()) << mkfs.error().message;
    auto loop = fixture::LoopDevice::attach(image);
    ASSERT_TRUE(loop) << loop.error().message;
    loop_ = std::move(*loop);

    // dm-linear over the whole loop device: one table line, 512-byte sectors.
    const std::string table = "0 " + std::to_string((kImageMiB << 20) / 512) + " linear " + loop_.path() + " 0";
    auto created = fixture::run_command({"dmsetup", "create", name_, "--table", table});
    ASSERT_TRUE(created.ok()) << created.error().message;
    created_ = true;
    dm_ = dm_kernel_name(name_);
    ASSERT_FALSE(dm_.empty()) << "dmsetup made " << name_ << ", but /sys/block shows no dm device by that name";
  }

  void TearDown() override {
    if (holder_ > 0) (void)fixture::kill_and_reap(holder_);
    umount2(mnt_.c_str(), MNT_DETACH);
    // The holder's namespace goes with it; the remove may still race the
    // last close, so it is tried for a while.
    for (int i = 0; created_ && i < 50; ++i) {
      if (fixture::run_command({"dmsetup", "remove", name_}).ok()) {
        created_ = false;
      } else {
        std::this_thread::sleep_for(100ms);
      }
    }
    EXPECT_FALSE(created_) << "dm device " << name_ << " could not be removed";
    if (loop_.attached()) {
      EXPECT_TRUE(loop_.detach().ok());
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // The leak's shape: the dm device mounted here, a process with its own
  // mount namespace holding a private copy, then the "host" unmounts.
  void make_leak() {
    ASSERT_EQ(mount(("/dev/" + dm_).c_str(), mnt_.c_str(), "ext4", 0, nullptr), 0) << strerror(errno);
    fixture::ContainerProcessPlan plan;
    plan.rootfs = dir_ + "/root";
    plan.binds = {{mnt_, "/data", false}};
    plan.comm = "dm-holder";
    auto pid = fixture::spawn_container_process(plan);
    ASSERT_TRUE(pid) << pid.error().message;
    holder_ = *pid;
    holder_ns_ = mntns_of(holder_);
    ASSERT_NE(holder_ns_, 0u);
    ASSERT_EQ(umount2(mnt_.c_str(), 0), 0) << strerror(errno);
  }

  // `dmsetup remove` as an operator runs it: must fail, busy.
  void remove_fails_busy() {
    auto removed = fixture::run_command({"dmsetup", "remove", name_});
    ASSERT_FALSE(removed.ok()) << "dmsetup remove " << name_ << " succeeded while a namespace still mounts it";
    EXPECT_NE(removed.error().message.find("busy"), std::string::npos) << removed.error().message;
  }

  std::vector<std::string> cli_args(const std::string& devices = "dm-*") const {
    const std::string empty = dir_ + "/empty";
    return {"--devices",    devices, "--host-mntns",   std::to_string(getpid()), "--kubelet-root",
            empty,          "--containerd-state",      empty,
            "--crio-state", empty,   "--docker-root",  empty,
            "--pod-log-dir", empty};
  }

  // The holder is named in `holders` as the leak: its namespace, its pid.
  bool names_holder_as_leak(const nlohmann::json& holders) const {
    for (const auto& h : holders) {
      if (h.value("role", "") != "leak" || h.value("mntns", uint64_t{0}) != holder_ns_) continue;
      for (const auto& p : h.value("pids", nlohmann::json::array()))
        if (p == holder_) return true;
    }
    return false;
  }

  bool names_dm_device(const nlohmann::json& device) const {
    if (device.value("name", "") != dm_ || !device.contains("dm")) return false;
    const auto& dm = device["dm"];
    const auto slaves = dm.value("slaves", nlohmann::json::array());
    return dm.value("name", "") == name_ && slaves.size() == 1 && slaves[0] == loop_.kernel_name();
  }

  // trace with `devices` tracked through a failing remove: the busy finding
  // must name the dm device, the loop device under it and the holder.
  void trace_failing_remove(const std::string& devices) {
    auto args = cli_args(devices);
    args.push_back("--all-events");
    TraceProcess trace(args);
    auto ready = trace.wait_for_event("ready", 30s);
    ASSERT_TRUE(ready) << trace.stderr_text();
    EXPECT_EQ((*ready)["tier"].value("dm_remove_busy", ""), expected_tier()) << ready->dump();

    make_leak();
    remove_fails_busy();

    auto raw = trace.wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == "busy_raw" && e.value("source", "") == "dm_remove";
        },
        15s);
    ASSERT_TRUE(raw) << trace.describe();
    EXPECT_EQ((*raw)["tier"], expected_tier()) << raw->dump();
    // The kernel tier names the disk, the tracepoint tier what dmsetup passed.
    EXPECT_EQ((*raw)["path"], expected_tier() == "kernel" ? dm_ : name_) << raw->dump();

    auto busy = trace.wait_for(
        [&](const nlohmann::json& e) { return e.value("event", "") == "busy" && e.value("source", "") == "dm_remove"; },
        15s);
    ASSERT_TRUE(busy) << trace.describe() << "\n" << trace.stderr_text();
    EXPECT_EQ((*busy)["errno"], "EBUSY");
    EXPECT_EQ((*busy)["device_from"], expected_tier() == "kernel" ? "kernel" : "dm_name") << busy->dump();
    EXPECT_TRUE(names_dm_device((*busy)["device"]))
        << "dm " << name_ << " (" << dm_ << ") on " << loop_.kernel_name() << ": " << busy->dump();
    EXPECT_TRUE(names_holder_as_leak((*busy)["holders"]))
        << "pid " << holder_ << " in mntns " << holder_ns_ << ": " << busy->dump();
    EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
  }

  std::string dir_, mnt_, name_, dm_;
  fixture::LoopDevice loop_;
  bool created_ = false;
  pid_t holder_ = -1;
  uint64_t holder_ns_ = 0;
};

}  // namespace mountleak::testing

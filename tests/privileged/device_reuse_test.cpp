// SPDX-License-Identifier: Apache-2.0
// A device number given to another image while the tracer runs: an rbd
// unmap and map reuse minors, as a loop detach and attach reuse numbers.
// Findings must name the device as it is now, never as it was.

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "fixture/command.h"
#include "fixture/loop_device.h"
#include "mountleak_process.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

Status make_ext4(const std::string& path) {
  const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno("create " + path);
  const int rc = ftruncate(fd, 16 << 20);
  close(fd);
  if (rc != 0) return Error::from_errno("ftruncate " + path);
  return fixture::run_command({"mkfs.ext4", "-q", "-F", path});
}

class DeviceReuse : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/mountleak-reuse-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    dir_ = templ;
    mnt_ = dir_ + "/mnt";
    fs::create_directories(mnt_);
    fs::create_directories(dir_ + "/empty");
  }
  void TearDown() override {
    if (held_ >= 0) close(held_);
    umount2(mnt_.c_str(), MNT_DETACH);
    loop_.detach();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Mounts the device, keeps a file on it open, and fails to unmount it.
  void make_busy() {
    ASSERT_EQ(mount(loop_.path().c_str(), mnt_.c_str(), "ext4", 0, nullptr), 0) << strerror(errno);
    held_ = open((mnt_ + "/held").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_GE(held_, 0);
    ASSERT_NE(umount2(mnt_.c_str(), 0), 0);
    ASSERT_EQ(errno, EBUSY);
  }
  void release() {
    close(held_);
    held_ = -1;
    ASSERT_EQ(umount2(mnt_.c_str(), 0), 0) << strerror(errno);
  }
  std::vector<std::string> trace_args(const std::string& devices) {
    const std::string empty = dir_ + "/empty";
    return {"--devices", devices,         "--host-mntns", std::to_string(getpid()), "--kubelet-root", empty,
            "--containerd-state", empty, "--crio-state", empty, "--docker-root", empty, "--pod-log-dir", empty};
  }
  std::optional<nlohmann::json> busy_naming(TraceProcess& trace, const std::string& backing_file) {
    return trace.wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == "busy" && e["device"].value("backing_file", "") == backing_file;
        },
        10s);
  }

  std::string dir_, mnt_;
  fixture::LoopDevice loop_;
  int held_ = -1;
};

TEST_F(DeviceReuse, ALoopNumberGivenToAnotherImageIsReportedUnderItsNewName) {
  const std::string first = dir_ + "/first.img", second = dir_ + "/second.img";
  ASSERT_TRUE(make_ext4(first).ok());
  ASSERT_TRUE(make_ext4(second).ok());
  auto attached = fixture::LoopDevice::attach(first);
  ASSERT_TRUE(attached) << attached.error().message;
  loop_ = std::move(*attached);
  const int number = loop_.number();

  TraceProcess trace(trace_args(loop_.kernel_name()));
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  make_busy();
  auto before = busy_naming(trace, first);
  ASSERT_TRUE(before) << trace.describe();
  EXPECT_EQ((*before)["device"]["name"], loop_.kernel_name());

  // The same number, another image, at once: no tick need come in between.
  release();
  ASSERT_TRUE(loop_.detach().ok());
  auto again = fixture::LoopDevice::attach(second, number);
  ASSERT_TRUE(again) << again.error().message;
  loop_ = std::move(*again);
  make_busy();
  auto after = busy_naming(trace, second);
  ASSERT_TRUE(after) << trace.describe();
  EXPECT_EQ((*after)["device"]["name"], "loop" + std::to_string(number));
  release();
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
}

}  // namespace
}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
// A holder's command line carries a password: scan and trace print it
// redacted unless asked for it in full.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "fixture/container_process.h"
#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kSecretArgs = {"--password", "hunter2", "-o", "username=u,password=hunter3",
                                              "https://u:hunter4@ceph.example:6789/"};

// `prefix` then kSecretArgs, run as a child that dies with us.
pid_t spawn_with_secrets(std::vector<std::string> argv) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  setpgid(0, 0);  // its children go with it (kill_group_and_reap)
  argv.insert(argv.end(), kSecretArgs.begin(), kSecretArgs.end());
  std::vector<char*> raw;
  for (auto& a : argv) raw.push_back(a.data());
  raw.push_back(nullptr);
  execvp(raw[0], raw.data());
  _exit(127);
}

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
    // A shell holding the device open; it waits for its sleep, so its own
    // argv stays as given.
    holder_ = spawn_with_secrets({"sh", "-c", "exec 3<\"$0\"; sleep 1000; exit 0", node_->device_path()});
    ASSERT_GT(holder_, 0);
    // Until the shell has the device open.
    for (int i = 0; i < 200 && !holds_device(); ++i) usleep(10000);
    ASSERT_TRUE(holds_device());
  }
  void TearDown() override {
    for (pid_t pid : {holder_, copier_}) {
      auto gone = fixture::kill_group_and_reap(pid);
      EXPECT_TRUE(gone.ok()) << gone.error().message;
    }
    if (node_) {
      node_->teardown();
      EXPECT_TRUE(node_->teardown_errors().empty());
    }
  }
  bool holds_device() const {
    char target[256];
    ssize_t n = readlink(("/proc/" + std::to_string(holder_) + "/fd/3").c_str(), target, sizeof(target));
    return n > 0 && std::string(target, static_cast<size_t>(n)) == node_->device_path();
  }
  std::string scan(const std::vector<std::string>& extra) {
    RunResult r = run_mountleak(with(with({"scan", "-o", "json", "--device", node_->device_path()}, extra),
                                     node_->cli_args()));
    EXPECT_EQ(r.exit_code, 1) << r.err;
    return r.out;
  }
  std::unique_ptr<fixture::SeedNode> node_;
  pid_t holder_ = -1;
  pid_t copier_ = -1;
};

TEST_F(Secrets, ScanRedactsPasswordsInCommandLines) {
  std::string out = scan({});
  EXPECT_NE(out.find(std::to_string(holder_)), std::string::npos) << out;  // the holder is still named
  for (const char* secret : {"hunter2", "hunter3", "hunter4"}) EXPECT_EQ(out.find(secret), std::string::npos) << out;
  EXPECT_NE(out.find("username=u,password=<redacted>"), std::string::npos) << out;
  EXPECT_NE(out.find("https://u:<redacted>@ceph.example:6789/"), std::string::npos) << out;
}

TEST_F(Secrets, FullCommandLinesOnlyWhenAskedFor) {
  std::string out = scan({"--cmdline", "full"});
  for (const char* secret : {"hunter2", "hunter3", "hunter4"}) EXPECT_NE(out.find(secret), std::string::npos) << out;
}

TEST_F(Secrets, TraceAndItsLogRedactPasswords) {
  const std::string log = node_->tmp_dir() + "/trace.log";
  TraceProcess trace(with({"--log", log}, node_->cli_args()));
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  // A new private namespace copies the mount: mntns_copy names its creator
  // and holder, whose argv carries the secrets.
  copier_ = spawn_with_secrets({"unshare", "-m", "--propagation", "private", "sh", "-c", "sleep 1000; exit 0", "sh"});
  ASSERT_GT(copier_, 0);
  auto copy = trace.wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "mntns_copy" && e["creator"].value("pid", 0) == copier_ &&
               e["creator"].contains("cmdline") && e["creator"]["cmdline"].size() > 4;
      },
      10s);
  ASSERT_TRUE(copy) << trace.describe();
  EXPECT_NE(copy->dump().find("<redacted>"), std::string::npos) << copy->dump();
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
  std::string all;
  for (const auto& e : trace.events()) all += e.dump() + "\n";
  std::ifstream in(log);
  all += std::string(std::istreambuf_iterator<char>(in), {});
  for (const char* secret : {"hunter2", "hunter3", "hunter4"}) EXPECT_EQ(all.find(secret), std::string::npos) << all;
}

// Mount option strings (where CIFS keeps password=) and mount(2) data are
// never read: a distinctive option on the device's file system and in a
// traced mount's data shows up nowhere in scan, trace or the log.
TEST_F(Secrets, MountOptionsAndMountDataAreNeverRead) {
  const std::string log = node_->tmp_dir() + "/trace.log";
  TraceProcess trace(with({"--all-events", "--log", log}, node_->cli_args()));
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  // commit=37 is a super-block option mountinfo shows; nr_inodes=31337 is
  // mount(2) data of a fresh tmpfs.
  ASSERT_EQ(mount(nullptr, node_->global_mount_path().c_str(), nullptr, MS_REMOUNT, "commit=37"), 0)
      << strerror(errno);
  const std::string dir = node_->tmp_dir() + "/optdata";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(mount("optdata", dir.c_str(), "tmpfs", 0, "nr_inodes=31337"), 0) << strerror(errno);
  auto mounted = trace.wait_for(
      [&](const nlohmann::json& e) { return e.value("event", "") == "mount" && e.dump().find("optdata") != std::string::npos; },
      10s);
  EXPECT_TRUE(mounted) << trace.describe();
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
  umount2(dir.c_str(), MNT_DETACH);

  std::string all = scan({"--cmdline", "full"});
  for (const auto& e : trace.events()) all += e.dump() + "\n";
  std::ifstream in(log);
  all += std::string(std::istreambuf_iterator<char>(in), {});
  EXPECT_EQ(all.find("commit=37"), std::string::npos);
  EXPECT_EQ(all.find("31337"), std::string::npos);
}

}  // namespace
}  // namespace mountleak::testing

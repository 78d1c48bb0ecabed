// SPDX-License-Identifier: Apache-2.0
// `mountleak release` on the seed node: the real binary unmounts a leaked
// copy in the log collector's own mount namespace, and the device is free
// while the collector goes on running; everything else is left alone with
// its reason.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <memory>
#include <sstream>

#include "containerd_runtime.h"
#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using fixture::ContainerKind;

std::string str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

class Release : public SeedNodeTest {
 protected:
  RunResult release(const std::vector<std::string>& args) {
    return run_mountleak(with(with({"release", "--device", node_->device_path()}, args), node_->cli_args()));
  }
  // The release lines of one role (and, if given, of one container).
  std::vector<nlohmann::json> steps(const RunResult& r, const std::string& role, const std::string& container = "") {
    std::vector<nlohmann::json> out;
    for (const auto& line : r.json_lines()) {
      if (line.value("event", "") != "release" || line.value("role", "") != role) continue;
      if (!container.empty() && !(line["container"].is_object() && line["container"].value("id", "") == container))
        continue;
      out.push_back(line);
    }
    return out;
  }
  // The seed file, as the log collector sees it through its own copy.
  std::string data_file_in(const fixture::Container& c) {
    const std::string relative = node_->data_file_path().substr(node_->kubelet_root().size());
    return "/proc/" + std::to_string(c.pid) + "/root/var/lib/kubelet" + relative;
  }
  void kubelet_unmounts() {
    ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  }
};

TEST_P(Release, FreesTheDeviceAPrivateCopyHoldsWithoutRestartingItsHolder) {
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  kubelet_unmounts();
  ASSERT_GT(mounts_of_device(collector->pid, node_->dev_id()), 0);
  // The field report: the host has unmounted, and still the device is busy.
  ASSERT_EQ(exclusive_open_error(node_->device_path()), EBUSY);

  const std::string log = node_->tmp_dir() + "/release.jsonl";
  RunResult r = release({"--yes", "-o", "json", "--log", log});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto leak = steps(r, "leak", collector->id);
  ASSERT_EQ(leak.size(), 1u) << r.out << r.err;
  EXPECT_EQ(leak[0]["action"], "done") << leak[0].dump(2);
  // The same action in the log, as a line of its own.
  std::ifstream logged(log);
  std::string line;
  bool in_log = false;
  while (std::getline(logged, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    in_log = in_log || (j.is_object() && j.value("event", "") == "release" && j.value("action", "") == "done" &&
                        j.value("mntns", uint64_t{0}) == leak[0]["mntns"].get<uint64_t>());
  }
  EXPECT_TRUE(in_log) << "no release line in " << log;
  EXPECT_FALSE(leak[0]["unmounted"].empty()) << leak[0].dump(2);
  expect_names(leak[0], *collector, GetParam().expected_runtime);

  EXPECT_EQ(mounts_of_device(collector->pid, node_->dev_id()), 0);
  EXPECT_EQ(exclusive_open_error(node_->device_path()), 0) << "the device is still busy";
  EXPECT_EQ(kill(collector->pid, 0), 0) << "the collector was not left running";
  auto summary = r.json_lines().back();
  EXPECT_EQ(summary["event"], "release_summary");
  EXPECT_TRUE(summary["still_leaked"].empty()) << summary.dump();
}

TEST_P(Release, DryRunPrintsThePlanAndChangesNothing) {
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  kubelet_unmounts();
  const int before = mounts_of_device(collector->pid, node_->dev_id());
  ASSERT_GT(before, 0);

  RunResult table = release({});
  EXPECT_EQ(table.exit_code, 1) << table.out << table.err;  // the leak remains
  EXPECT_NE(table.out.find("Dry run"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("would unmount"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("deepest first"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(collector->pod.name), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/"), std::string::npos) << table.out;

  RunResult json = release({"-o", "json"});
  EXPECT_EQ(json.exit_code, 1) << json.err;
  auto leak = steps(json, "leak", collector->id);
  ASSERT_EQ(leak.size(), 1u) << json.out;
  EXPECT_EQ(leak[0]["action"], "planned");
  EXPECT_TRUE(leak[0]["dry_run"].get<bool>());

  EXPECT_EQ(mounts_of_device(collector->pid, node_->dev_id()), before);
  EXPECT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
}

TEST_P(Release, LeavesTheHostTheOwnerPodAndAnFdHolderAloneAndSaysWhy) {
  fixture::Container* owner = start(ContainerKind::kVolumeOwner);
  fixture::Container* fd_holder = start(ContainerKind::kFdHolder);
  ASSERT_NE(owner, nullptr);
  ASSERT_NE(fd_holder, nullptr);
  const int owner_mounts = mounts_of_device(owner->pid, node_->dev_id());
  const int host_mounts = mounts_of_device(getpid(), node_->dev_id());
  ASSERT_GT(owner_mounts, 0);
  ASSERT_GT(host_mounts, 0);

  RunResult r = release({"--yes", "-o", "json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // the fd holder still needs the operator
  auto host = steps(r, "host");
  ASSERT_EQ(host.size(), 1u) << r.out;
  EXPECT_EQ(host[0]["action"], "kept");
  EXPECT_NE(str(host[0], "reason").find("host's own mount"), std::string::npos) << host[0].dump();
  auto own = steps(r, "owner", owner->id);
  ASSERT_EQ(own.size(), 1u) << r.out;
  EXPECT_EQ(own[0]["action"], "kept");
  EXPECT_NE(str(own[0], "reason").find("never touched"), std::string::npos) << own[0].dump();
  auto fd = steps(r, "fd", fd_holder->id);
  ASSERT_EQ(fd.size(), 1u) << r.out;
  EXPECT_EQ(fd[0]["action"], "refused");
  EXPECT_NE(str(fd[0], "reason").find("PID " + std::to_string(fd_holder->pid)), std::string::npos) << fd[0].dump();
  EXPECT_NE(str(fd[0], "reason").find(node_->device_path() + " open"), std::string::npos) << fd[0].dump();
  for (const auto& line : r.json_lines())
    if (line.value("event", "") == "release") {
      EXPECT_NE(line["action"], "done") << line.dump();
    }

  EXPECT_EQ(mounts_of_device(owner->pid, node_->dev_id()), owner_mounts);
  EXPECT_EQ(mounts_of_device(getpid(), node_->dev_id()), host_mounts);
}

TEST_P(Release, ACopyInUseFailsWithEbusyAndLazyDetachesItWithAWarning) {
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  if (access(node_->data_file_path().c_str(), F_OK) != 0) {
    std::ofstream(node_->data_file_path()) << "seed\n";
  }
  kubelet_unmounts();
  // A process with a file open through the collector's copy of the mount.
  const std::string in_copy = data_file_in(*collector);
  pid_t reader = spawn_after_setup([&] { return open(in_copy.c_str(), O_RDONLY) >= 0; });
  ASSERT_GT(reader, 0) << "could not open " << in_copy;
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&reader, [](pid_t* p) {
    if (*p > 0) kill(*p, SIGKILL), waitpid(*p, nullptr, 0);
  });

  RunResult plain = release({"--yes", "-o", "json"});
  EXPECT_EQ(plain.exit_code, 1) << plain.out << plain.err;
  auto failed = steps(plain, "leak", collector->id);
  ASSERT_EQ(failed.size(), 1u) << plain.out;
  EXPECT_EQ(failed[0]["action"], "failed") << failed[0].dump(2);
  EXPECT_EQ(failed[0]["errno"], "EBUSY") << failed[0].dump(2);
  EXPECT_NE(str(failed[0], "message").find("in use"), std::string::npos) << failed[0].dump(2);
  ASSERT_GT(mounts_of_device(collector->pid, node_->dev_id()), 0);

  RunResult table = release({"--yes"});
  EXPECT_NE(table.out.find("EBUSY"), std::string::npos) << table.out;

  RunResult lazy = release({"--yes", "--lazy", "-o", "json"});
  auto detached = steps(lazy, "leak", collector->id);
  ASSERT_EQ(detached.size(), 1u) << lazy.out;
  EXPECT_EQ(detached[0]["action"], "done") << detached[0].dump(2);
  EXPECT_TRUE(detached[0].value("lazy", false));
  EXPECT_NE(str(detached[0], "warning").find("stays busy"), std::string::npos) << detached[0].dump(2);
  EXPECT_EQ(mounts_of_device(collector->pid, node_->dev_id()), 0);
  // Detached, but the open file still holds the device, as warned; closing it frees it.
  EXPECT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  kill(reader, SIGKILL);
  waitpid(reader, nullptr, 0);
  reader = -1;
  EXPECT_EQ(exclusive_open_error(node_->device_path()), 0);
}

TEST_P(Release, ANamespaceKeptOnlyByAnNsfsPinIsReleased) {
  std::string pins = node_->tmp_dir() + "/pins";
  ASSERT_EQ(mkdir(pins.c_str(), 0755), 0);
  pid_t pinner = -1;
  for (int attempt = 0; attempt < 20 && pinner <= 0; ++attempt) pinner = spawn_pinner(pins);
  ASSERT_GT(pinner, 0) << "could not pin a mount namespace";
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&pinner, [](pid_t* p) {
    kill(*p, SIGKILL);
    waitpid(*p, nullptr, 0);
  });

  RunResult r = release({"--yes", "-o", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  bool found = false;
  for (const auto& step : steps(r, "leak")) {
    if (!step.contains("pinned_at")) continue;
    found = true;
    EXPECT_TRUE(step["pids"].empty()) << step.dump(2);
    EXPECT_EQ(step["action"], "done") << step.dump(2);
  }
  EXPECT_TRUE(found) << r.out;

  // Scanned again by scan itself: the pinned namespace holds nothing now.
  RunResult after = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()));
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
  EXPECT_EQ(after.out.find("pinned_at"), std::string::npos) << after.out;
}

// The same leak made by a real runtime: Debian's containerd and runc, started
// by the test (containerd_runtime.h), run a container with the kubelet root
// bind-mounted rprivate, as a hostPath without HostToContainer is.
TEST(ReleaseUnderRunc, FreesTheDeviceARuncContainersPrivateBindHolds) {
  auto node = make_seed_node();
  ASSERT_NE(node, nullptr);
  const std::string rootfs = node->tmp_dir() + "/runc-rootfs";
  auto built = build_rootfs(rootfs, MOUNTLEAK_BINARY, "/mountleak");
  ASSERT_TRUE(built) << built.error().message;
  std::filesystem::create_directories(rootfs + "/var/lib/kubelet");
  auto runtime = ContainerdRuntime::start(node->tmp_dir() + "/containerd", node->unique_name() + "-runc");
  ASSERT_TRUE(runtime) << runtime.error().message;
  std::unique_ptr<ContainerdRuntime> rt = std::move(*runtime);
  auto ctr = rt->start_run("log-collector", rootfs,
                           {"--mount=type=bind,src=" + node->kubelet_root() +
                            ",dst=/var/lib/kubelet,options=rbind:rprivate"},
                           {"/bin/busybox", "sleep", "600"}, node->tmp_dir() + "/ctr.out", node->tmp_dir() + "/ctr.err");
  ASSERT_TRUE(ctr) << ctr.error().message;

  // Until runc has made the container, nothing but the host holds the device.
  auto scan = [&] {
    return run_mountleak(with({"scan", "-o", "json", "--device", node->device_path()}, node->cli_args()));
  };
  bool leaking = false;
  for (int i = 0; i < 100 && !leaking; ++i) {
    for (const auto& line : scan().json_lines())
      for (const auto& h : line.value("holders", nlohmann::json::array())) leaking = leaking || h["role"] == "leak";
    if (!leaking) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(leaking) << "runc's container never held a copy";
  ASSERT_TRUE(node->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node->kubelet_unmount_global().ok());
  EXPECT_EQ(exclusive_open_error(node->device_path()), EBUSY);

  RunResult r = run_mountleak(
      with({"release", "--device", node->device_path(), "--yes", "-o", "json"}, node->cli_args()));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  size_t done = 0;
  for (const auto& line : r.json_lines())
    if (line.value("event", "") == "release" && line.value("role", "") == "leak") {
      EXPECT_EQ(line["action"], "done") << line.dump(2);
      done += line["action"] == "done";
    }
  EXPECT_EQ(done, 1u) << r.out;
  EXPECT_EQ(exclusive_open_error(node->device_path()), 0) << "the device is still busy";
  // The container was not restarted: its task still runs.
  CtrResult tasks = rt->ctr({"tasks", "ls"});
  EXPECT_NE(tasks.out.find("RUNNING"), std::string::npos) << tasks.out << tasks.err;

  rt->stop();  // kills the task; ctr, its client, ends with it
  EXPECT_TRUE(rt->stop_errors().empty()) << ::testing::PrintToString(rt->stop_errors());
  rt->wait_for(*ctr, std::chrono::seconds(10));
  node->teardown();
  EXPECT_TRUE(node->teardown_errors().empty()) << ::testing::PrintToString(node->teardown_errors());
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Release, ::testing::Values(runtime_variants()[0]), variant_name);

TEST(ReleaseErrors, UnknownDeviceExits2AndSaysWhich) {
  RunResult r = run_mountleak({"release", "--device", "/dev/mountleak-no-such-device", "--yes"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/dev/mountleak-no-such-device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No such file"), std::string::npos) << r.err;
}

TEST(ReleaseErrors, NoDeviceNamedExits2) {
  RunResult r = run_mountleak({"release", "--yes"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--device"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mountleak::testing

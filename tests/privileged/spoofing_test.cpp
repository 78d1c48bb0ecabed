// SPDX-License-Identifier: Apache-2.0
// A process inside a container calls itself containerd-shim and names
// another container: mountleak must not believe it. Only a shim in the
// host's mount namespace names a container.

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>

#include "fixture/container_process.h"
#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using fixture::ContainerKind;

// In a private mount namespace of its own (a copy of the loop device's
// mount, so a leak holder), a shell named like containerd's shim for
// `victim_id` starts a child and waits: the child is the holder, the fake
// shim its parent. Its cgroup is ours, which names no container, so only
// the shim could.
pid_t spawn_fake_shim(const std::string& victim_id) {
  std::vector<std::string> argv = {"containerd-shim-runc-v2", "-c", "sleep 1000 & wait", "-namespace",
                                   "k8s.io", "-id", victim_id, "-address", "/run/containerd/containerd.sock"};
  return spawn_after_setup(
      [] {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        setpgid(0, 0);  // its sleep goes with it (kill_group_and_reap)
        return unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
      },
      [&argv] {
        std::vector<char*> raw;
        for (auto& a : argv) raw.push_back(a.data());
        raw.push_back(nullptr);
        execv("/bin/sh", raw.data());
        _exit(127);
      });
}

class Spoofing : public SeedNodeTest {};

TEST_P(Spoofing, FakeShimInsideAContainerNamesNoContainer) {
  fixture::Container* victim = start(ContainerKind::kVolumeOwner);
  ASSERT_NE(victim, nullptr);
  pid_t fake = spawn_fake_shim(victim->id);
  ASSERT_GT(fake, 0);
  std::unique_ptr<pid_t, void (*)(pid_t*)> reap(&fake, [](pid_t* p) {
    auto gone = fixture::kill_group_and_reap(*p);
    EXPECT_TRUE(gone.ok()) << gone.error().message;
  });
  // Until the fake shim has its child: the process whose parent it is.
  for (int i = 0; i < 100; ++i) {
    std::string children = "/proc/" + std::to_string(fake) + "/task/" + std::to_string(fake) + "/children";
    std::ifstream in(children);
    int child = 0;
    if (in >> child && child > 0) break;
    usleep(20000);
  }

  RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  auto lines = r.json_lines();
  ASSERT_FALSE(lines.empty());
  bool seen = false;
  for (const auto& h : lines[0]["holders"]) {
    auto pids = h.value("pids", std::vector<int>{});
    if (std::find(pids.begin(), pids.end(), fake) == pids.end()) continue;
    seen = true;
    EXPECT_EQ(h["role"], "leak") << h.dump();
    EXPECT_TRUE(h["container"].is_null()) << "a fake shim named a container: " << h.dump();
  }
  EXPECT_TRUE(seen) << lines[0].dump(2);
  // The victim is still named as itself, the owner of its volume.
  auto owned = holders_of_container(lines[0], victim->id);
  ASSERT_EQ(owned.size(), 1u) << lines[0].dump(2);
  EXPECT_EQ(owned[0]["role"], "owner");
}

INSTANTIATE_TEST_SUITE_P(Runtimes, Spoofing, ::testing::Values(runtime_variants()[0]), variant_name);

}  // namespace
}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the scan and trace tests on the seed node share: building the node,
// finding holders in JSON output, and naming runtime variants.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture/seed_node.h"

namespace mountleak::testing {

struct RuntimeVariant {
  fixture::Runtime runtime;
  fixture::CgroupDriver driver;
  std::string expected_runtime;  // as mountleak names it
};

// Keeps ctest's test names readable ("... # GetParam() = containerd/systemd").
inline void PrintTo(const RuntimeVariant& v, std::ostream* os) {
  *os << fixture::to_string(v.runtime) << "/" << fixture::to_string(v.driver);
}

inline const std::vector<RuntimeVariant>& runtime_variants() {
  static const std::vector<RuntimeVariant> variants = {
      {fixture::Runtime::kContainerd, fixture::CgroupDriver::kSystemd, "containerd"},
      {fixture::Runtime::kCrio, fixture::CgroupDriver::kSystemd, "cri-o"},
      {fixture::Runtime::kDocker, fixture::CgroupDriver::kSystemd, "docker"},
      {fixture::Runtime::kContainerd, fixture::CgroupDriver::kCgroupfs, "containerd"},
  };
  return variants;
}

inline std::string variant_name(const ::testing::TestParamInfo<RuntimeVariant>& info) {
  return std::string(fixture::to_string(info.param.runtime)) + "_" + fixture::to_string(info.param.driver);
}

inline std::unique_ptr<fixture::SeedNode> make_seed_node(bool mount_volume = true) {
  fixture::SeedOptions options;
  options.mount_volume = mount_volume;
  auto node = fixture::SeedNode::create(options);
  if (!node) {
    ADD_FAILURE() << "seed node: " << node.error().message;
    return nullptr;
  }
  return std::move(*node);
}

inline std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The holders of one finding or scan object whose container id is `id`.
inline std::vector<nlohmann::json> holders_of_container(const nlohmann::json& event, const std::string& id) {
  std::vector<nlohmann::json> out;
  for (const auto& h : event.value("holders", nlohmann::json::array()))
    if (h.contains("container") && h["container"].is_object() && h["container"].value("id", "") == id)
      out.push_back(h);
  return out;
}

// Asserts that a holder names the container and its pod exactly.
inline void expect_names(const nlohmann::json& holder, const fixture::Container& c,
                         const std::string& runtime) {
  ASSERT_TRUE(holder["container"].is_object()) << holder.dump();
  EXPECT_EQ(holder["container"].value("id", ""), c.id);
  EXPECT_EQ(holder["container"].value("name", ""), c.name);
  EXPECT_EQ(holder["container"].value("runtime", ""), runtime);
  ASSERT_TRUE(holder["pod"].is_object()) << holder.dump();
  EXPECT_EQ(holder["pod"].value("name", ""), c.pod.name);
  EXPECT_EQ(holder["pod"].value("namespace", ""), c.pod.namespace_name);
  EXPECT_EQ(holder["pod"].value("uid", ""), c.pod.uid);
}

// How many of pid's namespace's mounts are of `dev` (mountinfo's third field).
inline int mounts_of_device(pid_t pid, DevId dev) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/mountinfo");
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, majmin;
    fields >> id >> parent >> majmin;
    n += majmin == dev.str();
  }
  return n;
}

// What `rbd unmap` meets: an exclusive open of the device. 0, or the errno.
inline int exclusive_open_error(const std::string& device) {
  const int fd = open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

// A child that runs `setup` and tells us whether it worked, then runs
// `then` (by default it waits to be killed). Returns its pid, or -1 when
// setup failed (the child is then gone).
inline pid_t spawn_after_setup(const std::function<bool()>& setup,
                               const std::function<void()>& then = [] { pause(); }) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  pid_t pid = fork();
  if (pid != 0) {
    close(ready[1]);
    char ok = 0;
    bool done = read(ready[0], &ok, 1) == 1 && ok == 1;
    close(ready[0]);
    if (!done && pid > 0) waitpid(pid, nullptr, 0);
    return done ? pid : -1;
  }
  close(ready[0]);
  char ok = setup();
  if (write(ready[1], &ok, 1) != 1 || !ok) _exit(1);
  close(ready[1]);
  then();
  _exit(0);
}

// A process in a fresh mount namespace of its own that pins a second one,
// which keeps a private copy of every mount but has no process left, by
// bind-mounting its nsfs file at <dir>/mnt (what `unshare --mount=FILE`
// does). Returns the pinner's pid, or -1 when the kernel refused the bind:
// it refuses (EINVAL) a namespace whose id does not sort after the binder's.
// Ids come from per-CPU batches (gen_cookie, Linux 6.x), so a namespace made
// on one CPU can sort before one made earlier on another: both are made on
// the same CPU here, and callers still try again.
inline pid_t spawn_pinner(const std::string& dir) {
  int ready[2];
  if (pipe(ready) != 0) return -1;
  pid_t pinner = fork();
  if (pinner != 0) {
    close(ready[1]);
    char ok = 0;
    bool pinned = read(ready[0], &ok, 1) == 1 && ok == 1;
    close(ready[0]);
    if (!pinned && pinner > 0) kill(pinner, SIGKILL), waitpid(pinner, nullptr, 0);
    return pinned ? pinner : -1;
  }
  close(ready[0]);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  cpu_set_t one_cpu;
  CPU_ZERO(&one_cpu);
  CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one_cpu);
  sched_setaffinity(0, sizeof one_cpu, &one_cpu);  // inherited by the owner below
  std::string pin = dir + "/mnt";
  char ok = 0;
  if (unshare(CLONE_NEWNS) == 0 && mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
      mount("pins", dir.c_str(), "tmpfs", 0, nullptr) == 0 && close(open(pin.c_str(), O_CREAT | O_WRONLY, 0600)) == 0) {
    int sync[2];
    if (pipe(sync) == 0) {
      pid_t owner = fork();
      if (owner == 0) {
        char started = unshare(CLONE_NEWNS) == 0;
        if (write(sync[1], &started, 1) != 1) _exit(1);
        pause();
        _exit(0);
      }
      char started = 0;
      if (read(sync[0], &started, 1) == 1 && started) {
        std::string ns_file = "/proc/" + std::to_string(owner) + "/ns/mnt";
        ok = mount(ns_file.c_str(), pin.c_str(), nullptr, MS_BIND, nullptr) == 0;
      }
      kill(owner, SIGKILL);
      waitpid(owner, nullptr, 0);
    }
  }
  if (write(ready[1], &ok, 1) != 1 || !ok) _exit(1);
  pause();
  _exit(0);
}

// A seed node per test, for tests parameterised by runtime variant.
class SeedNodeTest : public ::testing::TestWithParam<RuntimeVariant> {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
  }
  void TearDown() override {
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }
  // A container of this test's runtime and cgroup driver.
  fixture::Container* start(fixture::ContainerKind kind) {
    fixture::ContainerSpec spec;
    spec.runtime = GetParam().runtime;
    spec.cgroup_driver = GetParam().driver;
    spec.kind = kind;
    auto c = node_->start_container(spec);
    if (!c) ADD_FAILURE() << "container: " << c.error().message;
    return c ? *c : nullptr;
  }
  std::unique_ptr<fixture::SeedNode> node_;
};

}  // namespace mountleak::testing

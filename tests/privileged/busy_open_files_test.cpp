// SPDX-License-Identifier: Apache-2.0
// What makes an unmount fail is rarely a mount: a process with a file open,
// its working directory or a memory map on the volume. `trace`'s busy
// finding and `scan` must name that process (and its container), whether
// it runs in the host's namespace or in a container's, for the unmount and
// for an exclusive open of the device alike.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;

enum class Hold { kFd, kCwd, kMap };
enum class Where { kHost, kContainer };

struct BusyCase {
  Hold hold;
  Where where;
};

const char* kind_name(Hold h) {
  switch (h) {
    case Hold::kFd: return "fd";
    case Hold::kCwd: return "cwd";
    case Hold::kMap: return "map";
  }
  return "?";
}

void PrintTo(const BusyCase& c, std::ostream* os) {
  *os << kind_name(c.hold) << (c.where == Where::kHost ? " in the host" : " in a container");
}

std::string case_name(const ::testing::TestParamInfo<BusyCase>& info) {
  return std::string(kind_name(info.param.hold)) + (info.param.where == Where::kHost ? "_in_host" : "_in_container");
}

// Keeps `file` (a file on the volume) busy the way `hold` says: an open
// descriptor, its directory as the working directory, or a shared map of
// it whose descriptor is closed.
bool hold_file(Hold hold, const std::string& file) {
  switch (hold) {
    case Hold::kFd:
      return open(file.c_str(), O_RDONLY) >= 0;
    case Hold::kCwd:
      return chdir(file.substr(0, file.rfind('/')).c_str()) == 0;
    case Hold::kMap: {
      int fd = open(file.c_str(), O_RDONLY);
      if (fd < 0) return false;
      void* map = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd, 0);
      close(fd);
      return map != MAP_FAILED;
    }
  }
  return false;
}

// A process that joins `container` (its cgroups and mount namespace) when
// given one, then holds `file` (a path in that namespace).
pid_t spawn_holder(Hold hold, const std::string& file, const fixture::Container* container) {
  return spawn_after_setup([&] {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (container) {
      for (const auto& dir : container->cgroup_dirs) {
        std::ofstream procs(dir + "/cgroup.procs");
        if (!(procs << "0" << std::flush)) return false;
      }
      // Its root too, as a runtime's exec does: a namespace's root is not
      // the root a container pivoted into.
      const std::string proc = "/proc/" + std::to_string(container->pid);
      int root = open((proc + "/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      int ns = open((proc + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
      if (root < 0 || ns < 0 || setns(ns, CLONE_NEWNS) != 0 || fchdir(root) != 0 || chroot(".") != 0) return false;
      close(ns);
      close(root);
    }
    return hold_file(hold, file);
  });
}

class TraceBusyOpenFiles : public ::testing::TestWithParam<BusyCase> {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
  }
  void TearDown() override {
    if (holder_ > 0) {
      kill(holder_, SIGKILL);
      waitpid(holder_, nullptr, 0);
    }
    if (trace_) {
      EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
    }
    trace_.reset();
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }

  // The holder among a finding's (or scan's) holders, if it is there.
  std::optional<nlohmann::json> holder_named(const nlohmann::json& event) const {
    for (const auto& h : event.value("holders", nlohmann::json::array()))
      if (h.value("role", "") == "fd" && h.contains("fds"))
        for (const auto& f : h["fds"])
          if (f.value("pid", 0) == holder_ && f.value("kind", "") == kind_name(GetParam().hold)) return h;
    return std::nullopt;
  }
  void expect_attributed(const nlohmann::json& h) const {
    EXPECT_EQ(h["pids"], nlohmann::json::array({holder_})) << h.dump();
    if (!container_) return;
    expect_names(h, *container_, "containerd");
  }
  std::optional<nlohmann::json> wait_busy(const std::string& source) {
    return trace_->wait_for(
        [&](const nlohmann::json& e) {
          return e.value("event", "") == "busy" && e.value("source", "") == source && holder_named(e);
        },
        10s);
  }

  std::unique_ptr<fixture::SeedNode> node_;
  std::unique_ptr<TraceProcess> trace_;
  fixture::Container* container_ = nullptr;
  pid_t holder_ = -1;
};

TEST_P(TraceBusyOpenFiles, UmountAndExclusiveOpenNameTheProcessHoldingTheVolume) {
  trace_ = std::make_unique<TraceProcess>(node_->cli_args());
  ASSERT_TRUE(trace_->started());
  ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << trace_->stderr_text();

  std::string file = node_->data_file_path();
  if (GetParam().where == Where::kContainer) {
    // HostToContainer: the host's unmount reaches the container's copy, and
    // fails while the copy is in use.
    fixture::ContainerSpec spec;
    spec.kind = ContainerKind::kLogCollectorSlave;
    auto c = node_->start_container(spec);
    ASSERT_TRUE(c) << c.error().message;
    container_ = *c;
    file = spec.kubelet_mount_point + file.substr(node_->kubelet_root().size());
  }
  holder_ = spawn_holder(GetParam().hold, file, container_);
  ASSERT_GT(holder_, 0) << "could not hold " << file;

  ASSERT_EQ(umount2(node_->global_mount_path().c_str(), 0), -1);
  ASSERT_EQ(errno, EBUSY);
  auto busy = wait_busy("umount");
  ASSERT_TRUE(busy) << trace_->describe();
  expect_attributed(*holder_named(*busy));
  EXPECT_EQ((*busy)["process"]["pid"], getpid());

  int fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL);
  ASSERT_EQ(fd, -1);
  ASSERT_EQ(errno, EBUSY);
  auto excl = wait_busy("open_excl");
  ASSERT_TRUE(excl) << trace_->describe();
  expect_attributed(*holder_named(*excl));

  RunResult scan = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()));
  ASSERT_EQ(scan.exit_code, 1) << scan.err;
  std::optional<nlohmann::json> found;
  for (const auto& line : scan.json_lines())
    if (line.value("event", "") == "holders" && !found) found = holder_named(line);
  ASSERT_TRUE(found) << scan.out;
  expect_attributed(*found);
}

INSTANTIATE_TEST_SUITE_P(Holds, TraceBusyOpenFiles,
                         ::testing::Values(BusyCase{Hold::kFd, Where::kHost}, BusyCase{Hold::kCwd, Where::kHost},
                                           BusyCase{Hold::kMap, Where::kHost}, BusyCase{Hold::kFd, Where::kContainer},
                                           BusyCase{Hold::kCwd, Where::kContainer},
                                           BusyCase{Hold::kMap, Where::kContainer}),
                         case_name);

}  // namespace
}  // namespace mountleak::testing

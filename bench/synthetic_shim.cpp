// SPDX-License-Identifier: Apache-2.0
// One fake docker container of the synthetic node, in two stages of this
// program:
//  - shim: plays docker-containerd-shim (host mount namespace, the shim's
//    command line, given by SyntheticNode) and forks the container's init,
//    which joins the container's cgroups, unshares its mount namespace
//    (copying the host's ~500 mounts), makes it rslave, drops the rbd mounts
//    it is not meant to keep, makes the tree holding the kept ones rprivate,
//    and execs this program again as
//  - init: with the container's own command line (e.g. /usr/sbin/td-agent),
//    as runc's exec would, so that only the shims match the seed script's
//    `ps aux | grep docker-containerd-shim`; it forks the other processes of
//    the container, which share that command line.
// Everything waits in pause() until SyntheticNode kills the process group;
// with PR_SET_PDEATHSIG (kept across exec) nothing outlives the benchmark.

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "synthetic_shim_protocol.h"

namespace {

using mountleak::bench::ShimReport;

struct Plan {
  std::string text;  // as received, passed on to the init stage
  bool init_stage = false;
  int container = -1;
  int ready_fd = -1;
  int processes = 1;
  std::string init_comm = "mlb-app";
  std::string worker_comm = "mlb-worker";
  std::vector<std::string> cgroup_procs;
  std::vector<std::string> drops;
  std::vector<std::string> privates;
  bool rslave = false;
  std::vector<std::string> init_argv;
};

bool parse_plan(const char* text, Plan& plan) {
  plan.text = text;
  const std::string& all = plan.text;
  size_t pos = 0;
  while (pos < all.size()) {
    size_t end = all.find('\n', pos);
    if (end == std::string::npos) end = all.size();
    const std::string line = all.substr(pos, end - pos);
    pos = end + 1;
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    if (key == "container")
      plan.container = std::atoi(value.c_str());
    else if (key == "ready_fd")
      plan.ready_fd = std::atoi(value.c_str());
    else if (key == "processes")
      plan.processes = std::atoi(value.c_str());
    else if (key == "init_comm")
      plan.init_comm = value;
    else if (key == "worker_comm")
      plan.worker_comm = value;
    else if (key == "cgroup")
      plan.cgroup_procs.push_back(value);
    else if (key == "drop")
      plan.drops.push_back(value);
    else if (key == "private")
      plan.privates.push_back(value);
    else if (key == "rslave")
      plan.rslave = value == "1";
    else if (key == "init_arg")
      plan.init_argv.push_back(value);
    else if (key == "stage")
      plan.init_stage = value == "init";
  }
  return plan.container >= 0 && plan.ready_fd >= 0 && plan.processes >= 1 &&
         !plan.init_argv.empty();
}

void report(const Plan& plan, int32_t role, int err, const char* step, const char* object) {
  ShimReport r;
  r.container = plan.container;
  r.role = role;
  r.pid = getpid();
  r.err = err;
  if (err != 0) std::snprintf(r.step, sizeof r.step, "%s %s", step, object ? object : "");
  (void)!write(plan.ready_fd, &r, sizeof r);
}

[[noreturn]] void fail(const Plan& plan, int32_t role, const char* step, const char* object) {
  report(plan, role, errno != 0 ? errno : EINVAL, step, object);
  _exit(1);
}

[[noreturn]] void wait_forever() {
  for (;;) pause();
}

[[noreturn]] void run_worker(const Plan& plan, pid_t init) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != init) _exit(1);
  prctl(PR_SET_NAME, plan.worker_comm.c_str());
  report(plan, mountleak::bench::kRoleWorker, 0, nullptr, nullptr);
  wait_forever();
}

// Stage 1, in the shim's child: the container's namespace and cgroups.
[[noreturn]] void start_container(const Plan& plan, pid_t shim) {
  using mountleak::bench::kRoleInit;
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != shim) _exit(1);
  for (const auto& procs : plan.cgroup_procs) {
    FILE* f = std::fopen(procs.c_str(), "we");
    if (!f) fail(plan, kRoleInit, "open", procs.c_str());
    const bool written = std::fputs("0", f) >= 0;
    if (std::fclose(f) != 0 || !written) fail(plan, kRoleInit, "join cgroup", procs.c_str());
  }
  if (unshare(CLONE_NEWNS) != 0) fail(plan, kRoleInit, "unshare", "CLONE_NEWNS");
  // runc's default rootfsPropagation: the host's mount events reach the
  // container, never the reverse.
  if (plan.rslave && mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0)
    fail(plan, kRoleInit, "make rslave", "/");
  for (const auto& mount_point : plan.drops)
    if (umount2(mount_point.c_str(), 0) != 0) fail(plan, kRoleInit, "umount", mount_point.c_str());
  // A log collector's view of the kubelet tree, cut off from the host like a
  // hostPath bind with the CRI's default (private) propagation. Making only
  // the rbd mounts private would not do: an unmount propagates by the
  // propagation of the parent mount, so the parents must be private too.
  // Then the host's unmount does not reach the copies: the leak.
  for (const auto& mount_point : plan.privates)
    if (mount(nullptr, mount_point.c_str(), nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      fail(plan, kRoleInit, "make rprivate", mount_point.c_str());
  const std::string env =
      std::string(mountleak::bench::kShimPlanEnv) + "=" + plan.text + "stage=init\n";
  std::vector<char*> argv;
  for (const auto& a : plan.init_argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  char* envp[] = {const_cast<char*>(env.c_str()), nullptr};
  execve("/proc/self/exe", argv.data(), envp);
  fail(plan, kRoleInit, "exec", "/proc/self/exe");
}

// Stage 2: the container's init, after exec.
[[noreturn]] void run_init(const Plan& plan) {
  using mountleak::bench::kRoleInit;
  prctl(PR_SET_NAME, plan.init_comm.c_str());
  const pid_t self = getpid();
  for (int i = 1; i < plan.processes; ++i) {
    const pid_t child = fork();
    if (child < 0) fail(plan, kRoleInit, "fork", "worker");
    if (child == 0) run_worker(plan, self);
  }
  report(plan, kRoleInit, 0, nullptr, nullptr);
  wait_forever();
}

}  // namespace

int main(int argc, char** argv) {
  (void)argc;
  (void)argv;
  const char* text = std::getenv(mountleak::bench::kShimPlanEnv);
  Plan plan;
  if (!text || !parse_plan(text, plan)) {
    std::fprintf(stderr, "synthetic_shim: started without a plan; SyntheticNode runs this\n");
    return 2;
  }
  unsetenv(mountleak::bench::kShimPlanEnv);
  // Hold nothing but the report pipe (stdio stays for error messages).
  if (plan.ready_fd > 3) close_range(3, static_cast<unsigned>(plan.ready_fd - 1), 0);
  close_range(static_cast<unsigned>(plan.ready_fd + 1), UINT_MAX, 0);
  if (plan.init_stage) run_init(plan);
  // The kernel keeps 15 characters: "docker-containe", as on real nodes.
  prctl(PR_SET_NAME, "docker-containerd-shim");
  const pid_t self = getpid();
  const pid_t init = fork();
  if (init < 0) fail(plan, mountleak::bench::kRoleShim, "fork", "container init");
  if (init == 0) start_container(plan, self);
  report(plan, mountleak::bench::kRoleShim, 0, nullptr, nullptr);
  wait_forever();
}

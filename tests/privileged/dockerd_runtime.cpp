// SPDX-License-Identifier: Apache-2.0
#include "dockerd_runtime.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "fixture/private_namespace.h"
#include "fixture/seed_node.h"
#include "runtime_support.h"

namespace mountleak::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// The last component of every DockerdRuntime dir (by convention, under a
// seed node's temp dir) and the suffix of its cgroup parent, by which the
// sweep recognises what a killed run left.
constexpr const char* kDirName = "/dockerd";
constexpr const char* kCgroupSuffix = "-dockerd";

// The paths dockerd 20.10 and its containerd write whatever their flags
// say; each gets a private tmpfs in the daemon's namespace.
constexpr const char* kPrivatePaths[] = {"/run", "/etc/docker", "/opt"};

// The program a process runs, by argv[0]'s last component.
std::string program_of(pid_t pid) {
  const std::string cmdline = read_whole_file("/proc/" + std::to_string(pid) + "/cmdline");
  const std::string argv0 = cmdline.substr(0, cmdline.find('\0'));
  return argv0.substr(argv0.rfind('/') + 1);
}

// dockerd and what it starts: its containerd, shims, runc.
bool is_runtime_program(const std::string& program) {
  return program == "dockerd" || program == "containerd" || program.rfind("containerd-shim", 0) == 0 ||
         program == "runc" || program == "docker-init";
}

// Every process that serves the daemon under `dir`: the daemon
// (--data-root <dir>/data), its containerd (--config <dir>/exec/...), and
// the shims (-address <dir>/exec/containerd/containerd.sock). A mountleak
// run given the data root is not one of them.
std::vector<pid_t> processes_of(const std::string& dir) {
  std::vector<pid_t> out;
  for (pid_t pid : pids_with_cmdline_containing(dir + "/"))
    if (is_runtime_program(program_of(pid))) out.push_back(pid);
  return out;
}

// A run killed outright (SIGKILL, a crash) leaves its daemon, its
// containerd, shims and containers (nothing of dockerd's dies with the
// test but dockerd itself). Each is found by what only this helper names:
// a process whose command line names a "<seed dir>/dockerd/" path, a
// "<seed>-dockerd" cgroup, whose seed node is gone.
void sweep_stale(std::vector<std::string>& swept) {
  const std::string prefix = std::string("/tmp/") + fixture::kSeedPrefix;
  for (pid_t pid : pids_with_cmdline_containing(prefix)) {
    std::string cmdline = read_whole_file("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    const size_t at = cmdline.find(prefix);
    const size_t end = cmdline.find('/', at + prefix.size());
    if (end == std::string::npos || cmdline.compare(end, strlen(kDirName) + 1, std::string(kDirName) + "/") != 0)
      continue;
    const std::string seed_dir = cmdline.substr(at, end - at);
    if (!seed_node_gone(seed_dir) || !is_runtime_program(program_of(pid))) continue;
    kill(pid, SIGKILL);
    swept.push_back("process " + std::to_string(pid) + " of " + seed_dir + kDirName);
  }
  std::error_code ec;
  std::vector<std::string> hierarchies = {"/sys/fs/cgroup"};
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) hierarchies.push_back(h.path().string());
  std::set<std::string> parents;
  for (const auto& h : hierarchies)
    for (const auto& p : fs::directory_iterator(h, ec)) {
      const std::string base = p.path().filename();
      const size_t n = strlen(kCgroupSuffix);
      if (base.rfind(fixture::kSeedPrefix, 0) == 0 && base.size() > n && base.compare(base.size() - n, n, kCgroupSuffix) == 0 &&
          p.is_directory(ec) && seed_node_gone("/tmp/" + base.substr(0, base.size() - n)))
        parents.insert(base);
    }
  for (const auto& parent : parents) {
    std::vector<std::string> notes;
    empty_and_remove_cgroups(parent, notes);
    swept.push_back("cgroup " + parent);
  }
}

}  // namespace

Result<std::unique_ptr<DockerdRuntime>> DockerdRuntime::start(const std::string& dir, const std::string& cgroup_parent,
                                                              const DockerdOptions& options) {
  for (const char* tool : {kDockerd, kDocker, "/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2",
                           "/usr/sbin/runc", "/usr/bin/tar"})
    if (access(tool, X_OK) != 0)
      return Error{std::string(tool) + " is missing: scripts/setup.sh installs docker.io, containerd and runc", ENOENT};
  for (const char* path : kPrivatePaths)
    if (!fs::is_directory(path))
      return Error{std::string(path) + " does not exist; dockerd would write there on the host (docker.io ships " +
                       "/etc/docker)",
                   ENOENT};
  if (dir.size() < strlen(kDirName) || dir.compare(dir.size() - strlen(kDirName), std::string::npos, kDirName) != 0)
    return Error{"a DockerdRuntime dir ends in " + std::string(kDirName) + " (the stale sweep looks for it): " + dir,
                 EINVAL};
  if (cgroup_parent.size() < strlen(kCgroupSuffix) ||
      cgroup_parent.compare(cgroup_parent.size() - strlen(kCgroupSuffix), std::string::npos, kCgroupSuffix) != 0)
    return Error{"a DockerdRuntime cgroup parent ends in " + std::string(kCgroupSuffix) + ": " + cgroup_parent, EINVAL};

  std::unique_ptr<DockerdRuntime> rt(new DockerdRuntime());
  sweep_stale(rt->swept_stale_);
  rt->dir_ = dir;
  rt->cgroup_parent_ = cgroup_parent;
  if (mkdir(dir.c_str(), 0700) != 0) return Error::from_errno("mkdir " + dir);
  for (const char* sub : {"/data", "/exec"})
    if (mkdir((dir + sub).c_str(), 0700) != 0) return Error::from_errno("mkdir " + dir + sub);
  // The host's /etc/docker/daemon.json is not this daemon's.
  std::ofstream(dir + "/daemon.json") << "{}\n";
  if (auto s = rt->start_daemon(options); !s) return s.error();
  return rt;
}

Status DockerdRuntime::start_daemon(const DockerdOptions& options) {
  // Each cgroup level runc creates goes below ours: the daemon's parent
  // for containers not given one, and the tests give theirs below it.
  std::vector<std::string> argv = {kDockerd,
                                   "--data-root=" + data_root(),
                                   "--exec-root=" + exec_root(),
                                   "--pidfile=" + dir_ + "/docker.pid",
                                   "--host=unix://" + socket(),
                                   "--config-file=" + dir_ + "/daemon.json",
                                   "--iptables=false",
                                   "--ip6tables=false",
                                   "--ip-forward=false",
                                   "--ip-masq=false",
                                   "--bridge=none",
                                   "--exec-opt=native.cgroupdriver=cgroupfs",
                                   "--cgroup-parent=/" + cgroup_parent_,
                                   "--log-level=info"};
  if (options.live_restore) argv.push_back("--live-restore");

  // The test's namespace is already private (the host never sees it), so
  // the tmpfs mounts go there, and dockerd, its shims and containers run in
  // the namespace mountleak is told is the host's, as on a real node:
  // mountleak believes a shim's command line only from a shim that runs in
  // the host's namespace (measured: with dockerd in a namespace of its own,
  // the shim of a container its runtime no longer knows is not found).
  if (private_mounts_.empty()) {
    if (!fixture::in_private_mount_namespace())
      return Error{"DockerdRuntime needs the test's private mount namespace (enter_private_mount_namespace)", EPERM};
    for (const char* path : kPrivatePaths) {
      if (mount("dockerd-private", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
        return Error::from_errno(std::string("tmpfs on ") + path + " in the test's namespace");
      private_mounts_.push_back(path);
    }
  }

  const std::string log = dir_ + "/dockerd.log";
  pid_t pid = fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (out < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(kDockerd, args.data());
    _exit(127);
  }
  daemon_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (true) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      daemon_ = -1;
      return Error{"dockerd exited at start: " + read_whole_file(log), ECHILD};
    }
    struct stat st {};
    if (stat(socket().c_str(), &st) == 0 && S_ISSOCK(st.st_mode) && docker({"version"}, 10s).exit_code == 0)
      return ok_status();
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{"dockerd did not answer in 60 s: " + read_whole_file(log), ETIMEDOUT};
    std::this_thread::sleep_for(100ms);
  }
}

DockerdRuntime::~DockerdRuntime() { stop(); }

DockerResult DockerdRuntime::docker(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::vector<std::string> argv = {kDocker, "--host=unix://" + socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_client(argv, dir_, "docker", timeout);
}

Status DockerdRuntime::import_busybox(const std::string& image) {
  if (access("/bin/busybox", X_OK) != 0) return Error{"/bin/busybox is missing (busybox-static)", ENOENT};
  const std::string rootfs = dir_ + "/busybox-rootfs";
  std::error_code ec;
  for (const char* d : {"/bin", "/etc", "/proc", "/sys", "/dev", "/tmp", "/var/lib"}) {
    fs::create_directories(rootfs + d, ec);
    if (ec) return Error{"mkdir " + rootfs + d + ": " + ec.message(), ec.value()};
  }
  fs::copy_file("/bin/busybox", rootfs + "/bin/busybox", fs::copy_options::overwrite_existing, ec);
  if (ec) return Error{"copying /bin/busybox: " + ec.message(), ec.value()};
  for (const char* applet : {"sh", "sleep", "cat", "ls"}) {
    fs::create_symlink("busybox", rootfs + "/bin/" + applet, ec);
    if (ec) return Error{std::string("symlink ") + applet + ": " + ec.message(), ec.value()};
  }
  const std::string tar = dir_ + "/busybox-rootfs.tar";
  const std::string tar_err = dir_ + "/tar.err";
  pid_t pid = spawn_to_files({"/usr/bin/tar", "-C", rootfs, "-cf", tar, "."}, "/dev/null", tar_err);
  if (pid < 0 || reap_within(pid, 60s) != 0) return Error{"tar of " + rootfs + " failed: " + read_whole_file(tar_err), EIO};
  DockerResult r = docker({"import", tar, image}, 120s);
  if (r.exit_code != 0) return Error{"docker import " + tar + " " + image + ": " + r.err, EIO};
  fs::remove_all(rootfs, ec);
  fs::remove(tar, ec);
  return ok_status();
}

Status DockerdRuntime::stop_daemon(std::chrono::seconds timeout) {
  if (daemon_ <= 0) return Error{"dockerd is not running", ESRCH};
  kill(daemon_, SIGTERM);
  const int status = reap_within(daemon_, timeout);
  daemon_ = -1;
  stopped_alone_ = true;
  if (status < 0) return Error{"dockerd did not exit within the deadline after SIGTERM; killed", ETIMEDOUT};
  return ok_status();
}

void DockerdRuntime::kill_leftovers() {
  for (int round = 0; round < 50; ++round) {
    const auto left = processes_of(dir_);
    if (left.empty()) return;
    for (pid_t pid : left) {
      // After a stop of the daemon alone its shims stay, as they should.
      if (kill(pid, SIGKILL) == 0 && round == 0 && !stopped_alone_) {
        std::string cmdline = read_whole_file("/proc/" + std::to_string(pid) + "/cmdline");
        std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
        errors_.push_back("process " + std::to_string(pid) + " (" + cmdline.substr(0, 80) + ") outlived dockerd; killed");
      }
    }
    std::this_thread::sleep_for(20ms);
  }
  errors_.push_back("processes of " + dir_ + " still there after SIGKILL");
}

void DockerdRuntime::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  try {
    if (daemon_ > 0) {
      // Containers first: with --live-restore a daemon's SIGTERM leaves them running.
      const auto ids = lines_of(docker({"ps", "-aq"}, 30s).out);
      if (!ids.empty()) {
        std::vector<std::string> rm = {"rm", "-f"};
        rm.insert(rm.end(), ids.begin(), ids.end());
        DockerResult r = docker(rm, 60s);
        if (r.exit_code != 0) errors_.push_back("docker rm -f: " + r.err);
      }
      if (auto s = stop_daemon(); !s) errors_.push_back(s.error().message);
      stopped_alone_ = false;
    }
    // Its containerd normally stops with it; shims and containers stay when
    // the daemon was stopped alone (live restore) or killed. Shims exit
    // once their container is gone, so container processes go first.
    std::vector<std::string> notes;
    for (const auto& top : cgroup_dirs_named(cgroup_parent_)) {
      std::error_code ec;
      for (const auto& entry : fs::recursive_directory_iterator(top, ec))
        if (entry.path().filename() == "cgroup.procs")
          for (const auto& pid : lines_of(read_whole_file(entry.path()))) kill(std::stoi(pid), SIGKILL);
    }
    for (int i = 0; i < 100 && !processes_of(dir_).empty(); ++i) std::this_thread::sleep_for(50ms);
    kill_leftovers();
    empty_and_remove_cgroups(cgroup_parent_, notes);
    for (const auto& n : notes)
      if (n.find("was left in") == std::string::npos) errors_.push_back(n);
    // Its mounts (overlay, shm, netns): dockerd unmounts those of the
    // containers it removes; after a stop of the daemon alone (live
    // restore) the running ones' stay, and go here. Otherwise one still
    // mounted is a failure's leftover.
    std::istringstream mountinfo(read_whole_file("/proc/self/mountinfo"));
    std::vector<std::string> mounted;
    for (std::string line; std::getline(mountinfo, line);) {
      std::istringstream fields(line);
      std::string id, parent, devs, root, point;
      fields >> id >> parent >> devs >> root >> point;
      if (point == dir_ || point.rfind(dir_ + "/", 0) == 0) mounted.push_back(point);
    }
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) {
      if (!stopped_alone_) errors_.push_back("left mounted: " + *it);
      if (umount2(it->c_str(), 0) != 0) umount2(it->c_str(), MNT_DETACH);
    }
    for (auto it = private_mounts_.rbegin(); it != private_mounts_.rend(); ++it)
      if (umount2(it->c_str(), 0) != 0 && umount2(it->c_str(), MNT_DETACH) != 0)
        errors_.push_back("umount " + *it + ": " + strerror(errno));
    private_mounts_.clear();
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
    if (ec) errors_.push_back("removing " + dir_ + ": " + ec.message());
  } catch (const std::exception& e) {
    errors_.push_back(std::string("stopping dockerd: ") + e.what());
  }
}

}  // namespace mountleak::testing

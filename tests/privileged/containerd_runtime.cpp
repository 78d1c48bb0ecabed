// SPDX-License-Identifier: Apache-2.0
#include "containerd_runtime.h"

#include "runtime_support.h"

#include "fixture/seed_node.h"
#include "fixture/stale_sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace mountleak::testing {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kContainerd = "/usr/bin/containerd";
constexpr const char* kCtr = "/usr/bin/ctr";

std::string read_text(const std::string& path) { return read_whole_file(path); }
pid_t spawn(const std::vector<std::string>& argv, const std::string& out_path, const std::string& err_path) {
  return spawn_to_files(argv, out_path, err_path);
}
int reap(pid_t pid, std::chrono::steady_clock::duration timeout) { return reap_within(pid, timeout); }

// What a run killed outright (SIGKILL, a crash) left: containerd dies with
// it, but its shims and their containers outlive it. Each is found by what
// only this test names: a shim serving a socket under a seed node's temp dir
// whose node is gone, a process in a "<seed>-<word>" cgroup whose node is gone.
void sweep_stale_runtimes(std::vector<std::string>& swept) {
  std::error_code ec;
  const std::string prefix = std::string("/tmp/") + fixture::kSeedPrefix;
  for (const auto& p : fs::directory_iterator("/proc", ec)) {
    const std::string name = p.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_text(p.path().string() + "/cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find("containerd-shim") == std::string::npos) continue;
    const size_t at = cmdline.find("-address " + prefix);
    if (at == std::string::npos) continue;
    const std::string socket = cmdline.substr(at + 9, cmdline.find(' ', at + 9) - (at + 9));
    const std::string seed_dir = socket.substr(0, socket.find('/', prefix.size()));
    if (!seed_node_gone(seed_dir)) continue;
    kill(std::stoi(name), SIGKILL);
    swept.push_back("shim " + name + " of " + socket);
  }
  std::vector<std::string> hierarchies = {"/sys/fs/cgroup"};
  for (const auto& h : fs::directory_iterator("/sys/fs/cgroup", ec)) hierarchies.push_back(h.path().string());
  std::set<std::string> parents;
  for (const auto& h : hierarchies)
    for (const auto& parent : fs::directory_iterator(h, ec)) {
      const std::string base = parent.path().filename();
      if (base.rfind(fixture::kSeedPrefix, 0) != 0 || !parent.is_directory(ec)) continue;
      // "<seed>-<word>": the seed node's own cgroup has no "-<word>".
      const size_t dash = base.find('-', strlen(fixture::kSeedPrefix));
      if (dash == std::string::npos || dash + 1 == base.size()) continue;
      if (seed_node_gone("/tmp/" + base.substr(0, dash))) parents.insert(base);
    }
  for (const auto& parent : parents) {
    std::vector<std::string> notes;
    empty_and_remove_cgroups(parent, notes);
    swept.push_back("cgroup " + parent);
  }
}

}  // namespace

Result<std::unique_ptr<ContainerdRuntime>> ContainerdRuntime::start(const std::string& dir,
                                                                     const std::string& cgroup_parent,
                                                                     const std::string& ctr_namespace) {
  for (const char* tool : {kContainerd, kCtr, "/usr/bin/containerd-shim-runc-v2", "/usr/sbin/runc"})
    if (access(tool, X_OK) != 0)
      return Error{std::string(tool) + " is missing: scripts/setup.sh installs containerd and runc", ENOENT};
  std::unique_ptr<ContainerdRuntime> rt(new ContainerdRuntime());
  sweep_stale_runtimes(rt->swept_stale_);
  rt->dir_ = dir;
  rt->cgroup_parent_ = cgroup_parent;
  rt->namespace_ = ctr_namespace;
  rt->address_ = dir + "/containerd.sock";
  if (mkdir(dir.c_str(), 0700) != 0) return Error::from_errno("mkdir " + dir);
  for (const char* sub : {"/root", "/state", "/runc", "/fifo", "/opt", "/pids"})
    if (mkdir((dir + sub).c_str(), 0700) != 0) return Error::from_errno("mkdir " + dir + sub);
  // Every path containerd would otherwise take from its defaults is named:
  // the opt plugin would create /opt/containerd on the host. CRI is off (no
  // CNI, no image pulls, no kubelet), and so are the snapshotters a rootfs
  // run never uses: aufs's would modprobe a module on the host.
  const std::string config = dir + "/config.toml";
  std::ofstream(config) << "version = 2\n"
                        << "root = \"" << dir << "/root\"\n"
                        << "state = \"" << dir << "/state\"\n"
                        << "disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.snapshotter.v1.aufs\", "
                           "\"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", "
                           "\"io.containerd.snapshotter.v1.devmapper\"]\n"
                        << "[grpc]\n  address = \"" << rt->address_ << "\"\n"
                        << "[ttrpc]\n  address = \"" << rt->address_ << ".ttrpc\"\n"
                        << "[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"" << dir << "/opt\"\n";

  const std::string log = dir + "/containerd.log";
  pid_t pid = fork();
  if (pid < 0) return Error::from_errno("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) _exit(126);
    dup2(out, 1);
    dup2(out, 2);
    // Its own namespace: a slave of ours, with a /run of its own for the
    // shim sockets containerd 1.6 always puts in /run/containerd/s.
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) != 0 ||
        mount("containerd-run", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0) {
      dprintf(2, "setting up containerd's namespace: %s\n", strerror(errno));
      _exit(126);
    }
    // Shims double-fork; as a subreaper containerd stays their parent.
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    execl(kContainerd, kContainerd, "--config", config.c_str(), "--log-level", "info", static_cast<char*>(nullptr));
    _exit(127);
  }
  rt->daemon_ = pid;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (true) {
    struct stat st {};
    if (stat(rt->address_.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) break;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      rt->daemon_ = -1;
      return Error{"containerd exited at start: " + read_text(log), ECHILD};
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{"containerd's socket did not appear in 30 s: " + read_text(log), ETIMEDOUT};
    std::this_thread::sleep_for(50ms);
  }
  return rt;
}

ContainerdRuntime::~ContainerdRuntime() { stop(); }

CtrResult ContainerdRuntime::ctr(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::vector<std::string> argv = {kCtr, "--address", address_, "--namespace", namespace_};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_client(argv, dir_, "ctr", timeout);
}

std::vector<std::string> ContainerdRuntime::base_run_options(const std::string& id) const {
  return {"run", "--rm", "--rootfs", "--fifo-dir", dir_ + "/fifo", "--runc-root", dir_ + "/runc",
          "--cgroup", "/" + cgroup_parent_ + "/" + id};
}

CtrResult ContainerdRuntime::run(const std::string& id, const std::string& rootfs,
                                 const std::vector<std::string>& run_options, const std::vector<std::string>& command,
                                 std::chrono::seconds timeout) {
  std::vector<std::string> args = base_run_options(id);
  args.insert(args.end(), run_options.begin(), run_options.end());
  args.push_back(rootfs);
  args.push_back(id);
  args.insert(args.end(), command.begin(), command.end());
  return ctr(args, timeout);
}

Result<pid_t> ContainerdRuntime::start_run(const std::string& id, const std::string& rootfs,
                                           const std::vector<std::string>& run_options,
                                           const std::vector<std::string>& command, const std::string& out_path,
                                           const std::string& err_path) {
  std::vector<std::string> argv = {kCtr, "--address", address_, "--namespace", namespace_};
  for (const auto& a : base_run_options(id)) argv.push_back(a);
  argv.insert(argv.end(), run_options.begin(), run_options.end());
  argv.push_back(rootfs);
  argv.push_back(id);
  argv.insert(argv.end(), command.begin(), command.end());
  pid_t pid = spawn(argv, out_path, err_path);
  if (pid < 0) return Error::from_errno("fork");
  runs_.push_back(pid);
  return pid;
}

Result<pid_t> ContainerdRuntime::run_detached(const std::string& id, const std::string& rootfs,
                                              const std::string& cgroup, const std::vector<std::string>& run_options,
                                              const std::vector<std::string>& command) {
  const std::string pid_file = dir_ + "/pids/" + id;
  std::vector<std::string> args = {"run",         "--detach",     "--null-io", "--rootfs",
                                   "--runc-root", dir_ + "/runc", "--cgroup",  "/" + cgroup_parent_ + "/" + cgroup,
                                   "--pid-file",  pid_file};
  args.insert(args.end(), run_options.begin(), run_options.end());
  args.push_back(rootfs);
  args.push_back(id);
  args.insert(args.end(), command.begin(), command.end());
  CtrResult r = ctr(args, 60s);
  if (r.exit_code != 0) return Error{"ctr run " + id + " exited " + std::to_string(r.exit_code) + ": " + r.err, ECHILD};
  const std::string pid = read_text(pid_file);
  if (pid.empty() || pid.find_first_not_of("0123456789\n") != std::string::npos)
    return Error{"ctr run " + id + " wrote no pid to " + pid_file + ": \"" + pid + "\"", EIO};
  return static_cast<pid_t>(std::stoi(pid));
}

int ContainerdRuntime::wait_for(pid_t ctr, std::chrono::seconds timeout) {
  runs_.erase(std::remove(runs_.begin(), runs_.end(), ctr), runs_.end());
  return reap(ctr, timeout);
}

bool ContainerdRuntime::ended(pid_t ctr, int& status) {
  int raw = 0;
  if (waitpid(ctr, &raw, WNOHANG) != ctr) return false;
  runs_.erase(std::remove(runs_.begin(), runs_.end(), ctr), runs_.end());
  status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  return true;
}

void ContainerdRuntime::stop() noexcept {
  if (stopped_) return;
  stopped_ = true;
  try {
    if (daemon_ > 0) {
      // Tasks first (a running task keeps its container), then containers.
      // A `ctr run --rm` still waiting deletes its own once its task dies.
      const auto tasks = lines_of(ctr({"tasks", "ls", "-q"}).out);
      for (const auto& id : tasks) ctr({"tasks", "kill", "-s", "SIGKILL", id});
      for (pid_t run : runs_) reap(run, 10s);
      runs_.clear();
      for (const auto& id : lines_of(ctr({"tasks", "ls", "-q"}).out)) {
        CtrResult rm = ctr({"tasks", "rm", "-f", id});
        if (rm.exit_code != 0) errors_.push_back("ctr tasks rm " + id + ": " + rm.err);
      }
      for (const auto& id : lines_of(ctr({"containers", "ls", "-q"}).out)) {
        CtrResult rm = ctr({"containers", "rm", id});
        if (rm.exit_code != 0) errors_.push_back("ctr containers rm " + id + ": " + rm.err);
      }
      kill(daemon_, SIGTERM);
      if (reap(daemon_, 10s) < 0) errors_.push_back("containerd did not stop on SIGTERM; killed");
      daemon_ = -1;
    }
    // A shim left behind serves our socket and nothing else's: its command
    // line names it (-address <our socket>).
    std::error_code ec;
    for (const auto& p : fs::directory_iterator("/proc", ec)) {
      const std::string name = p.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      std::string cmdline = read_text(p.path().string() + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find("containerd-shim") != std::string::npos && cmdline.find(address_ + " ") != std::string::npos) {
        kill(std::stoi(name), SIGKILL);
        errors_.push_back("a shim outlived containerd (pid " + name + "); killed");
      }
    }
    // Processes still in a container's cgroup, then the cgroups (the
    // whole tree: a container may sit several levels below the parent).
    empty_and_remove_cgroups(cgroup_parent_, errors_);
    // Nothing should be mounted under the dir in this namespace; if a
    // failure left something, it goes before the dir does.
    std::vector<std::string> mounted;
    std::istringstream mountinfo(read_text("/proc/self/mountinfo"));
    for (std::string line; std::getline(mountinfo, line);) {
      std::istringstream fields(line);
      std::string id, parent, devs, root, point;
      fields >> id >> parent >> devs >> root >> point;
      if (point == dir_ || point.rfind(dir_ + "/", 0) == 0) mounted.push_back(point);
    }
    for (auto it = mounted.rbegin(); it != mounted.rend(); ++it) {
      errors_.push_back("left mounted: " + *it);
      umount2(it->c_str(), MNT_DETACH);
    }
    if (!dir_.empty()) fs::remove_all(dir_, ec);
    if (ec) errors_.push_back("removing " + dir_ + ": " + ec.message());
  } catch (const std::exception& e) {
    errors_.push_back(std::string("stopping containerd: ") + e.what());
  }
}

namespace {

// Copies `from` (its symlinks followed) to `to` inside the rootfs.
Status copy_into(const std::string& rootfs, const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::create_directories(fs::path(rootfs + to).parent_path(), ec);
  if (!ec) fs::copy_file(fs::canonical(from, ec), rootfs + to, fs::copy_options::overwrite_existing, ec);
  if (ec) return Error{"copying " + from + " into " + rootfs + ": " + ec.message(), ec.value()};
  return ok_status();
}

}  // namespace

Status build_busybox_rootfs(const std::string& rootfs) {
  std::error_code ec;
  for (const char* d : {"/proc", "/sys", "/dev", "/tmp", "/bin", "/etc"}) {
    fs::create_directories(rootfs + d, ec);
    if (ec) return Error{"mkdir " + rootfs + d + ": " + ec.message(), ec.value()};
  }
  if (access("/bin/busybox", X_OK) != 0) return Error{"/bin/busybox is missing (busybox-static)", ENOENT};
  return copy_into(rootfs, "/bin/busybox", "/bin/busybox");
}

Status build_rootfs(const std::string& rootfs, const std::string& binary, const std::string& binary_in_rootfs) {
  if (auto s = build_busybox_rootfs(rootfs); !s) return s;
  auto copy = [&](const std::string& from, const std::string& to) { return copy_into(rootfs, from, to); };
  if (auto s = copy(binary, binary_in_rootfs); !s) return s;
  // "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
  FILE* ldd = popen(("ldd '" + binary + "'").c_str(), "r");
  if (!ldd) return Error::from_errno("running ldd");
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, ldd)) > 0;) text.append(buf, n);
  if (pclose(ldd) != 0) return Error{"ldd " + binary + " failed: " + text, ECHILD};
  size_t libraries = 0;
  std::istringstream words(text);
  for (std::string w; words >> w;)
    if (w.front() == '/') {
      if (auto s = copy(w, w); !s) return s;
      ++libraries;
    }
  if (libraries == 0) return Error{"ldd named no libraries for " + binary + ": " + text, EINVAL};
  return ok_status();
}

}  // namespace mountleak::testing

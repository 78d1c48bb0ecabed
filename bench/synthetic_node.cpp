// SPDX-License-Identifier: Apache-2.0
#include "synthetic_node.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <thread>

#include "fixture/command.h"
#include "fixture/fs_util.h"
#include "fixture/runtime_metadata.h"
#include "fixture/seed_node.h"
#include "fixture/stale_sweep.h"
#include "synthetic_shim_protocol.h"

extern char** environ;

namespace mountleak::bench {

namespace {

using Clock = std::chrono::steady_clock;
using fixture::make_dirs;
using fixture::random_hex;
using fixture::random_uuid;

constexpr int kReadyTimeoutMs = 120'000;
constexpr auto kReapTimeout = std::chrono::seconds(20);

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result<uint64_t> ns_inode_of(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path);
  return static_cast<uint64_t>(st.st_ino);
}

Result<size_t> mountinfo_lines(const std::string& path) {
  auto text = fixture::read_file(path);
  if (!text) return text.error();
  return static_cast<size_t>(std::count(text->begin(), text->end(), '\n'));
}

fixture::RuntimeStatePaths state_paths(const std::string& tmp) {
  return {tmp + "/run/containerd/io.containerd.runtime.v2.task",
          tmp + "/run/containers/storage/overlay-containers", tmp + "/var/lib/docker",
          tmp + "/var/log/pods"};
}

// Which containers keep device `index`: copies spread evenly over the
// containers, each device shifted so that no container keeps two.
std::vector<int> holders_of(int index, const SyntheticNodeOptions& o) {
  const int stride = std::max(1, o.containers / std::max(1, o.copies_per_device));
  const int shift = std::max(1, stride / std::max(1, o.leaked_devices));
  std::vector<int> out;
  for (int k = 0; k < o.copies_per_device; ++k)
    out.push_back((index * shift + k * stride) % std::max(1, o.containers));
  return out;
}

fixture::MetadataRecord docker_record(const SyntheticContainer& c, bool log_collector) {
  fixture::MetadataRecord r;
  r.runtime = fixture::Runtime::kDocker;
  r.cgroup_driver = fixture::CgroupDriver::kCgroupfs;
  r.id = c.id;
  r.sandbox_id = random_hex(32);
  r.name = log_collector ? "fluentd" : "app";
  r.pod = {"bench", (log_collector ? "log-collector-" : "app-") + std::to_string(c.index),
           c.pod_uid};
  r.image = log_collector ? "fluent/fluentd:v1.16" : "registry.example/app:1.0";
  r.args = {log_collector ? "/usr/sbin/td-agent" : "/app"};
  if (log_collector) r.binds.push_back({"/var/lib/kubelet", "/var/lib/kubelet", "rprivate"});
  return r;
}

}  // namespace

Result<std::unique_ptr<SyntheticNode>> SyntheticNode::create(const SyntheticNodeOptions& options) {
  std::unique_ptr<SyntheticNode> node(new SyntheticNode());
  auto s = node->set_up(options);
  if (!s) {
    node->teardown();
    std::string message = s.error().message;
    for (const auto& e : node->errors_) message += "; teardown: " + e;
    return Error{message, s.error().errno_value};
  }
  return node;
}

SyntheticNode::~SyntheticNode() { teardown(); }

size_t SyntheticNode::process_count() const {
  size_t n = 0;
  for (const auto& c : containers_) n += c.pids.size() + (c.shim_pid > 0 ? 1 : 0);
  return n;
}

Status SyntheticNode::set_up(const SyntheticNodeOptions& options) {
  const auto start = Clock::now();
  if (geteuid() != 0) return Error{"the synthetic node needs root", EPERM};
  if (options.shim_program.empty() || access(options.shim_program.c_str(), X_OK) != 0)
    return Error::from_errno("synthetic_shim program '" + options.shim_program + "'");
  host_pid_ = getpid();
  auto own = ns_inode_of("/proc/self/ns/mnt");
  if (!own) return own.error();
  host_mntns_ = *own;
  // PID 1's namespace is the real host's (when we may look at it at all).
  if (auto init = ns_inode_of("/proc/1/ns/mnt"); init && *init == host_mntns_)
    return Error{
        "refusing to build in PID 1's mount namespace: call "
        "enter_private_mount_namespace() first",
        EPERM};
  // The shims and container processes that outlive their parent are
  // reparented to us, so teardown can reap them and knows they are gone.
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) return Error::from_errno("PR_SET_CHILD_SUBREAPER");

  if (options.cgroups) {
    auto h = fixture::detect_cgroup_hierarchies();
    if (!h) return h.error();
    hierarchies_ = *h;
  }
  fixture::sweep_stale(options.tmp_parent, hierarchies_, errors_);

  std::string templ = options.tmp_parent + "/" + fixture::kSeedPrefix + "XXXXXX";
  if (!mkdtemp(templ.data())) return Error::from_errno("mkdtemp " + templ);
  tmp_dir_ = templ;
  unique_ = tmp_dir_.substr(tmp_dir_.rfind('/') + 1);
  lock_fd_ = fixture::take_owner_lock(tmp_dir_);
  if (lock_fd_ < 0) return Error::from_errno("locking " + tmp_dir_);
  // Everything lives on a tmpfs over the temp dir (the lock file stays
  // visible below it to other namespaces' sweeps): thousands of directories
  // and the images come and go in memory, not at this disk's pace.
  if (mount("tmpfs", tmp_dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755") != 0)
    return Error::from_errno("mount tmpfs on " + tmp_dir_);
  // Shared, as a systemd host's mounts are: each mount below gets its peer
  // group, and the containers' rslave copies show master:N, so the mount
  // tables carry the optional fields real ones do.
  if (options.propagation && mount(nullptr, tmp_dir_.c_str(), nullptr, MS_SHARED, nullptr) != 0)
    return Error::from_errno("make " + tmp_dir_ + " shared");
  const auto state = state_paths(tmp_dir_);
  for (const auto& dir :
       {state.containerd_state + "/k8s.io", state.crio_state, state.docker_root + "/containers",
        state.pod_log_dir, kubelet_root() + "/plugins/kubernetes.io/rbd/mounts"})
    if (auto made = make_dirs(dir); !made) return made;

  auto base = mountinfo_lines("/proc/self/mountinfo");
  if (!base) return base.error();
  auto t = Clock::now();
  if (auto s =
          make_filler_mounts(std::max(0, options.mounts_per_namespace - static_cast<int>(*base)));
      !s)
    return s;
  times_.filler_mounts = seconds_since(t);

  t = Clock::now();
  for (int i = 0; i < options.leaked_devices; ++i) {
    if (auto s = make_device(i, options.image_size_mib); !s) return s;
    devices_.back().holders = holders_of(i, options);
  }
  times_.devices = seconds_since(t);

  t = Clock::now();
  if (auto s = start_containers(options); !s) return s;
  times_.containers = seconds_since(t);

  t = Clock::now();
  if (auto s = leak_devices(); !s) return s;
  times_.leak = seconds_since(t);

  auto host_lines = mountinfo_lines("/proc/self/mountinfo");
  if (!host_lines) return host_lines.error();
  host_mounts_ = *host_lines;
  for (const auto& c : containers_) {
    auto lines = mountinfo_lines("/proc/" + std::to_string(c.init_pid) + "/mountinfo");
    if (!lines) return lines.error();
    container_mount_lines_ += *lines;
  }
  times_.total = seconds_since(start);
  return ok_status();
}

Status SyntheticNode::make_filler_mounts(int count) {
  // What a node's mount table is mostly made of: the kubelet's small tmpfs
  // mounts for secrets and projected service-account tokens, two per pod.
  const std::string pods = kubelet_root() + "/pods/";
  std::string pod_uid;
  for (int i = 0; i < count; ++i) {
    if (i % 2 == 0) pod_uid = random_uuid();
    const std::string dir =
        pods + pod_uid + "/volumes/" +
        (i % 2 == 0 ? "kubernetes.io~secret/default-token-" + random_hex(3).substr(0, 5)
                    : "kubernetes.io~projected/kube-api-access-" + random_hex(3).substr(0, 5));
    if (auto s = make_dirs(dir); !s) return s;
    if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,mode=755") != 0)
      return Error::from_errno("mount tmpfs " + dir);
  }
  return ok_status();
}

Status SyntheticNode::make_device(int index, unsigned size_mib) {
  SyntheticDevice d;
  const std::string image = "kubernetes-dynamic-pvc-" + random_uuid();
  if (auto s = make_dirs(tmp_dir_ + "/images"); !s) return s;
  d.image_file = tmp_dir_ + "/images/kube-image-" + image + ".img";
  const int fd = open(d.image_file.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error::from_errno("create " + d.image_file);
  // Sparse: costs only what mkfs writes.
  const int rc = ftruncate(fd, static_cast<off_t>(size_mib) * 1024 * 1024);
  const int err = errno;
  close(fd);
  if (rc != 0) return Error::from_errno("ftruncate " + d.image_file, err);
  if (auto s = fixture::run_command(
          {"mkfs.ext4", "-q", "-F", "-L", "bench" + std::to_string(index), d.image_file});
      !s)
    return s;
  auto loop = fixture::LoopDevice::attach(d.image_file);
  if (!loop) return loop.error();
  d.loop = std::make_unique<fixture::LoopDevice>(std::move(*loop));
  d.global_mount = kubelet_root() + "/plugins/kubernetes.io/rbd/mounts/kube-image-" + image;
  d.pod_volume =
      kubelet_root() + "/pods/" + random_uuid() + "/volumes/kubernetes.io~rbd/pvc-" + random_uuid();
  devices_.push_back(std::move(d));  // from here on teardown knows the loop device
  const SyntheticDevice& dev = devices_.back();
  for (const auto& dir : {dev.global_mount, dev.pod_volume})
    if (auto s = make_dirs(dir); !s) return s;
  if (mount(dev.loop->path().c_str(), dev.global_mount.c_str(), "ext4", 0, nullptr) != 0)
    return Error::from_errno("mount " + dev.loop->path() + " on " + dev.global_mount);
  if (mount(dev.global_mount.c_str(), dev.pod_volume.c_str(), nullptr, MS_BIND, nullptr) != 0)
    return Error::from_errno("bind " + dev.global_mount + " on " + dev.pod_volume);
  return ok_status();
}

Status SyntheticNode::start_containers(const SyntheticNodeOptions& options) {
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return Error::from_errno("pipe2");
  // The one descriptor the shims inherit across exec.
  const int inherit = dup(ready[1]);
  close(ready[1]);
  if (inherit < 0) {
    close(ready[0]);
    return Error::from_errno("dup");
  }

  const auto state = state_paths(tmp_dir_);
  std::vector<std::string> base_env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, kShimPlanEnv, std::strlen(kShimPlanEnv)) != 0) base_env.push_back(*e);

  Status result = ok_status();
  for (int i = 0; i < options.containers && result; ++i) {
    SyntheticContainer c;
    c.index = i;
    c.id = random_hex(32);
    c.pod_uid = random_uuid();
    for (size_t d = 0; d < devices_.size(); ++d)
      if (std::count(devices_[d].holders.begin(), devices_[d].holders.end(), i))
        c.devices_kept.push_back(static_cast<int>(d));
    const bool log_collector = !c.devices_kept.empty();

    std::string plan = "container=" + std::to_string(i) + "\nready_fd=" + std::to_string(inherit) +
                       "\nprocesses=" + std::to_string(options.processes_per_container) +
                       "\ninit_comm=" + (log_collector ? "mlb-logcollect" : "mlb-app") +
                       "\nworker_comm=mlb-worker\n" +
                       (log_collector ? "init_arg=/usr/sbin/td-agent\ninit_arg=-q\n"
                                      : "init_arg=/app\ninit_arg=--serve\n");
    if (!hierarchies_.empty()) {
      c.cgroup_path = fixture::container_cgroup_path(
          unique_, fixture::Runtime::kDocker, fixture::CgroupDriver::kCgroupfs, c.pod_uid, c.id);
      for (const auto& h : hierarchies_) {
        if (auto s = make_dirs(h.mount_point + c.cgroup_path); !s) {
          result = s;
          break;
        }
        plan += "cgroup=" + h.mount_point + c.cgroup_path + "/cgroup.procs\n";
      }
    }
    if (options.propagation) plan += "rslave=1\n";
    for (size_t d = 0; d < devices_.size(); ++d) {
      if (std::count(c.devices_kept.begin(), c.devices_kept.end(), static_cast<int>(d))) continue;
      plan += "drop=" + devices_[d].pod_volume + "\ndrop=" + devices_[d].global_mount + "\n";
    }
    // Its whole copy of the node's tree, as a log collector's rprivate
    // hostPath bind of /var/lib/kubelet would see it.
    if (log_collector) plan += "private=" + tmp_dir_ + "\n";
    if (!result) break;
    if (auto written = fixture::write_container_metadata(state, docker_record(c, log_collector));
        !written) {
      result = written.error();
      break;
    }

    // Prepared before fork; the child only execs.
    const std::string libcontainerd = "/var/run/docker/libcontainerd/" + c.id;
    std::vector<const char*> argv = {"docker-containerd-shim", c.id.c_str(), libcontainerd.c_str(),
                                     "docker-runc", nullptr};
    const std::string plan_env = std::string(kShimPlanEnv) + "=" + plan;
    std::vector<const char*> envp;
    for (const auto& e : base_env) envp.push_back(e.c_str());
    envp.push_back(plan_env.c_str());
    envp.push_back(nullptr);

    const pid_t shim = fork();
    if (shim < 0) {
      result = Error::from_errno("fork shim " + std::to_string(i));
      break;
    }
    if (shim == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != host_pid_) _exit(1);
      setpgid(0, 0);
      execve(options.shim_program.c_str(), const_cast<char* const*>(argv.data()),
             const_cast<char* const*>(envp.data()));
      _exit(127);
    }
    setpgid(shim, shim);  // also here: kill(-pgid) must work as soon as we return
    c.shim_pid = shim;
    containers_.push_back(std::move(c));
  }
  close(inherit);

  // Every process reports once; a failure anywhere fails the node.
  const size_t expected =
      containers_.size() * static_cast<size_t>(1 + options.processes_per_container);
  size_t received = 0;
  const auto deadline = Clock::now() + std::chrono::milliseconds(kReadyTimeoutMs);
  while (result && received < expected) {
    const int left = static_cast<int>(
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    pollfd p{ready[0], POLLIN, 0};
    const int polled = left > 0 ? poll(&p, 1, left) : 0;
    if (polled < 0 && errno == EINTR) continue;
    if (polled <= 0) {
      result = Error{"containers not ready after " + std::to_string(kReadyTimeoutMs / 1000) +
                         " s (" + std::to_string(received) + " of " + std::to_string(expected) +
                         " processes reported)",
                     ETIMEDOUT};
      break;
    }
    ShimReport r;
    const ssize_t n = read(ready[0], &r, sizeof r);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof r)) {
      result = Error{"container processes exited before reporting (" + std::to_string(received) +
                         " of " + std::to_string(expected) + " reported)",
                     EPIPE};
      break;
    }
    if (r.container < 0 || r.container >= static_cast<int>(containers_.size())) continue;
    SyntheticContainer& c = containers_[static_cast<size_t>(r.container)];
    r.step[sizeof r.step - 1] = '\0';
    if (r.err != 0) {
      result = Error::from_errno("container " + std::to_string(r.container) + " pid " +
                                     std::to_string(r.pid) + ": " + r.step,
                                 r.err);
      break;
    }
    ++received;
    if (r.role == kRoleInit) {
      c.init_pid = r.pid;
      c.pids.insert(c.pids.begin(), r.pid);
    } else if (r.role == kRoleWorker) {
      c.pids.push_back(r.pid);
    }
  }
  close(ready[0]);
  if (!result) return result;

  for (auto& c : containers_) {
    auto ino = ns_inode_of("/proc/" + std::to_string(c.init_pid) + "/ns/mnt");
    if (!ino) return ino.error();
    c.mntns = *ino;
    auto s =
        fixture::record_container_pid(state, docker_record(c, !c.devices_kept.empty()), c.init_pid);
    if (!s) return s;
  }
  return ok_status();
}

Status SyntheticNode::leak_devices() {
  // The kubelet's teardown of the volume: from now on only the containers'
  // private copies hold the devices.
  for (const auto& d : devices_)
    for (const auto& path : {d.pod_volume, d.global_mount})
      if (umount2(path.c_str(), 0) != 0) return Error::from_errno("umount " + path);
  return ok_status();
}

HostPaths SyntheticNode::host_paths() const {
  HostPaths paths;
  const auto state = state_paths(tmp_dir_);
  paths.kubelet_root = kubelet_root();
  paths.containerd_state = state.containerd_state;
  paths.crio_state = state.crio_state;
  paths.docker_root = state.docker_root;
  paths.pod_log_dir = state.pod_log_dir;
  paths.device_globs.clear();
  for (const auto& d : devices_) paths.device_globs.push_back(d.loop->kernel_name());
  return paths;
}

std::vector<std::string> SyntheticNode::cli_args() const {
  const HostPaths p = host_paths();
  std::string devices;
  for (const auto& g : p.device_globs) devices += (devices.empty() ? "" : ",") + g;
  return {"--kubelet-root",     p.kubelet_root,
          "--containerd-state", p.containerd_state,
          "--crio-state",       p.crio_state,
          "--docker-root",      p.docker_root,
          "--pod-log-dir",      p.pod_log_dir,
          "--devices",          devices,
          "--host-mntns",       std::to_string(host_pid_)};
}

void SyntheticNode::kill_containers() {
  std::vector<pid_t> pending;
  for (const auto& c : containers_) {
    if (c.shim_pid <= 0) continue;
    // The whole container: shim, init and workers share the shim's group.
    if (kill(-c.shim_pid, SIGKILL) != 0 && errno != ESRCH)
      errors_.push_back(
          Error::from_errno("kill process group " + std::to_string(c.shim_pid)).message);
    pending.push_back(c.shim_pid);
    pending.insert(pending.end(), c.pids.begin(), c.pids.end());
  }
  // Orphans come to us (PR_SET_CHILD_SUBREAPER); until one is reparented,
  // waitpid says ECHILD and kill(pid, 0) still finds it.
  const auto deadline = Clock::now() + kReapTimeout;
  while (!pending.empty() && Clock::now() < deadline) {
    std::erase_if(pending, [](pid_t pid) {
      const pid_t r = waitpid(pid, nullptr, WNOHANG);
      if (r == pid) return true;
      return r < 0 && errno == ECHILD && kill(pid, 0) != 0 && errno == ESRCH;
    });
    if (!pending.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!pending.empty())
    errors_.push_back(std::to_string(pending.size()) + " container process(es) still exist " +
                      "after SIGKILL (first pid " + std::to_string(pending.front()) + ")");
  for (auto& c : containers_) {
    c.shim_pid = -1;
    c.init_pid = -1;
    c.pids.clear();
  }
}

void SyntheticNode::unmount_all_under_tmp(bool including_tmp) {
  if (tmp_dir_.empty()) return;
  fixture::unmount_all_under(tmp_dir_, including_tmp, errors_);
}

void SyntheticNode::teardown() noexcept {
  if (torn_down_) return;
  torn_down_ = true;
  const auto start = Clock::now();
  try {
    kill_containers();
    if (!tmp_dir_.empty()) unmount_all_under_tmp(/*including_tmp=*/false);
    // The containers' copies went with their namespaces and the host's are
    // unmounted: nothing holds the devices now. Their images live on the
    // tmpfs over the temp dir, which can go once they are detached.
    for (auto& d : devices_)
      if (d.loop)
        if (auto s = d.loop->detach(); !s) errors_.push_back(s.error().message);
    if (!tmp_dir_.empty()) unmount_all_under_tmp(/*including_tmp=*/true);
    for (const auto& h : hierarchies_)
      if (!unique_.empty())
        if (auto s = fixture::remove_cgroup_tree(h.mount_point + "/" + unique_); !s)
          errors_.push_back(s.error().message);
    if (!tmp_dir_.empty())
      if (auto s = fixture::remove_tree(tmp_dir_); !s) errors_.push_back(s.error().message);
    if (lock_fd_ >= 0) close(lock_fd_);
    lock_fd_ = -1;
  } catch (const std::exception& e) {
    errors_.push_back(std::string("teardown: ") + e.what());
  }
  teardown_seconds_ = seconds_since(start);
}

}  // namespace mountleak::bench

// SPDX-License-Identifier: Apache-2.0
// The seed fixture checked against the real kernel: every container variant
// for every runtime and cgroup driver holds (or does not hold) the loop
// device exactly as the field report describes, propagation really decides
// the leak, and teardown leaves nothing behind, also when a test fails.

#include <dirent.h>
#include <grp.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <ostream>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>
#include <gtest/gtest-spi.h>
#include <nlohmann/json.hpp>

#include "fixture/fs_util.h"
#include "fixture/loop_device.h"
#include "fixture/private_namespace.h"
#include "fixture/seed_node.h"
#include "model/mountinfo.h"

namespace mountleak::fixture {

// Readable parameter names in gtest output (found by ADL, so not in the
// anonymous namespace).
void PrintTo(Runtime runtime, std::ostream* os) { *os << to_string(runtime); }
void PrintTo(CgroupDriver driver, std::ostream* os) { *os << to_string(driver); }

namespace {

using nlohmann::json;

// --- what the kernel says ------------------------------------------------------

std::vector<MountEntry> mounts_of(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/mountinfo";
  auto text = read_file(path);
  if (!text) return {};
  return parse_mountinfo(*text, path).mounts;
}

std::vector<MountEntry> device_mounts(pid_t pid, DevId dev) {
  std::vector<MountEntry> out;
  for (auto& m : mounts_of(pid))
    if (m.dev == dev) out.push_back(std::move(m));
  return out;
}

std::vector<std::string> mount_points(const std::vector<MountEntry>& mounts) {
  std::vector<std::string> out;
  for (const auto& m : mounts) out.push_back(m.mount_point);
  std::sort(out.begin(), out.end());
  return out;
}

// True when one of the process's descriptors is the device node itself or a
// file on the device's file system.
bool has_fd_on(pid_t pid, dev_t dev) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool found = false;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    struct stat st;
    if (stat((dir + "/" + e->d_name).c_str(), &st) != 0) continue;
    if ((S_ISBLK(st.st_mode) && st.st_rdev == dev) || st.st_dev == dev) found = true;
  }
  closedir(d);
  return found;
}

// The cgroup path /proc/PID/cgroup shows for the cgroup2 hierarchy ("0::")
// or the v1 name=systemd one.
std::string cgroup_of(pid_t pid, bool unified) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return "";
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    if (unified ? (line.compare(0, first, "0") == 0 && controllers.empty())
                : controllers == "name=systemd")
      return line.substr(second + 1);
  }
  return "";
}

// What O_EXCL says about the device: mounted file systems claim a block
// device exclusively, so EBUSY here is what `rbd unmap` runs into.
int exclusive_open_errno(const std::string& device) {
  int fd = open(device.c_str(), O_RDONLY | O_EXCL | O_CLOEXEC);
  if (fd < 0) return errno;
  close(fd);
  return 0;
}

bool exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

std::string comm_of(pid_t pid) {
  auto text = read_file("/proc/" + std::to_string(pid) + "/comm");
  if (!text) return "";
  std::string s = *text;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

// --- cleanliness -----------------------------------------------------------------

// What a node made, remembered so it can be checked after the node is gone.
struct Snapshot {
  std::string tmp_dir;
  std::string kernel_name;
  std::string image_file;
  std::vector<std::string> cgroup_roots;
  std::vector<pid_t> pids;
};

Snapshot snapshot_of(const SeedNode& node) {
  Snapshot s{node.tmp_dir(), node.kernel_name(), node.image_file(), {}, {}};
  for (const auto& h : node.cgroup_hierarchies())
    s.cgroup_roots.push_back(h.mount_point + "/" + node.unique_name());
  for (const Container* c : node.containers())
    if (c->pid > 0) s.pids.push_back(c->pid);
  return s;
}

std::string losetup_all() {
  std::string out;
  FILE* p = popen("losetup -a 2>&1", "r");
  if (!p) return out;
  char buf[512];
  while (fgets(buf, sizeof(buf), p)) out += buf;
  pclose(p);
  return out;
}

void expect_clean(const Snapshot& s) {
  auto mounts = mount_points_under(s.tmp_dir);
  ASSERT_TRUE(mounts.ok());
  EXPECT_TRUE(mounts->empty()) << "still mounted:" << join(*mounts);
  EXPECT_NE(loop_backing_file(s.kernel_name), s.image_file) << s.kernel_name << " still bound";
  EXPECT_EQ(losetup_all().find(s.tmp_dir), std::string::npos) << losetup_all();
  EXPECT_FALSE(exists(s.tmp_dir)) << s.tmp_dir;
  for (const auto& root : s.cgroup_roots) EXPECT_FALSE(exists(root)) << root;
  for (pid_t pid : s.pids) {
    EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1) << "pid " << pid << " not reaped";
    EXPECT_FALSE(exists("/proc/" + std::to_string(pid))) << "pid " << pid << " still exists";
  }
}

// --- expectations per container ---------------------------------------------------

std::string expected_cgroup_suffix(const Container& c) {
  std::string uid_underscored = c.pod.uid;
  std::replace(uid_underscored.begin(), uid_underscored.end(), '-', '_');
  const char* prefix = c.runtime == Runtime::kContainerd ? "cri-containerd"
                       : c.runtime == Runtime::kCrio     ? "crio"
                                                         : "docker";
  if (c.cgroup_driver == CgroupDriver::kSystemd)
    return "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uid_underscored +
           ".slice/" + prefix + "-" + c.id + ".scope";
  return "/kubepods/burstable/pod" + c.pod.uid + "/" +
         (c.runtime == Runtime::kCrio ? "crio-" + c.id : c.id);
}

void expect_cgroups(const SeedNode& node, const Container& c) {
  SCOPED_TRACE(std::string("cgroups of ") + to_string(c.kind));
  const std::string suffix = expected_cgroup_suffix(c);
  ASSERT_GE(c.cgroup_path.size(), suffix.size());
  EXPECT_EQ(c.cgroup_path, "/" + node.unique_name() + suffix);
  ASSERT_EQ(c.cgroup_dirs.size(), node.cgroup_hierarchies().size());
  for (size_t i = 0; i < c.cgroup_dirs.size(); ++i) {
    const auto& h = node.cgroup_hierarchies()[i];
    EXPECT_EQ(cgroup_of(c.pid, h.unified), c.cgroup_path) << h.mount_point;
    EXPECT_TRUE(exists(c.cgroup_dirs[i])) << c.cgroup_dirs[i];
  }
}

json read_json(const std::string& path) {
  auto text = read_file(path);
  if (!text) return json();
  return json::parse(*text, nullptr, false);
}

// The propagation option of the bind at `destination` in an OCI mounts list.
std::string oci_propagation(const json& spec, const std::string& destination) {
  for (const auto& m : spec.value("mounts", json::array())) {
    if (m.value("destination", "") != destination) continue;
    for (const auto& o : m.value("options", json::array()))
      if (o == "rprivate" || o == "rslave" || o == "rshared") return o;
  }
  return "";
}

void expect_metadata(const SeedNode& node, const Container& c, const std::string& bind_dest,
                     const std::string& propagation) {
  SCOPED_TRACE(std::string("metadata of ") + to_string(c.kind));
  const auto& st = node.state_paths();
  switch (c.runtime) {
    case Runtime::kContainerd: {
      const std::string dir = st.containerd_state + "/k8s.io/" + c.id;
      json spec = read_json(dir + "/config.json");
      ASSERT_TRUE(spec.is_object()) << dir;
      const json& a = spec["annotations"];
      EXPECT_EQ(a.value("io.kubernetes.cri.container-type", ""), "container");
      EXPECT_EQ(a.value("io.kubernetes.cri.container-name", ""), c.name);
      EXPECT_EQ(a.value("io.kubernetes.cri.sandbox-name", ""), c.pod.name);
      EXPECT_EQ(a.value("io.kubernetes.cri.sandbox-namespace", ""), c.pod.namespace_name);
      EXPECT_EQ(a.value("io.kubernetes.cri.sandbox-uid", ""), c.pod.uid);
      EXPECT_EQ(a.value("io.kubernetes.cri.sandbox-id", ""), c.sandbox_id);
      EXPECT_TRUE(exists(st.containerd_state + "/k8s.io/" + c.sandbox_id + "/config.json"));
      if (!bind_dest.empty()) {
        EXPECT_EQ(oci_propagation(spec, bind_dest), propagation);
      }
      EXPECT_EQ(read_file(dir + "/init.pid").value(), std::to_string(c.pid));
      break;
    }
    case Runtime::kCrio: {
      const std::string dir = st.crio_state + "/" + c.id + "/userdata";
      json spec = read_json(dir + "/config.json");
      ASSERT_TRUE(spec.is_object()) << dir;
      const json& a = spec["annotations"];
      EXPECT_EQ(a.value("io.kubernetes.container.name", ""), c.name);
      EXPECT_EQ(a.value("io.kubernetes.pod.name", ""), c.pod.name);
      EXPECT_EQ(a.value("io.kubernetes.pod.namespace", ""), c.pod.namespace_name);
      EXPECT_EQ(a.value("io.kubernetes.pod.uid", ""), c.pod.uid);
      EXPECT_EQ(a.value("io.kubernetes.cri-o.ContainerType", ""), "container");
      EXPECT_EQ(a.value("io.kubernetes.cri-o.SandboxID", ""), c.sandbox_id);
      if (!bind_dest.empty()) {
        EXPECT_EQ(oci_propagation(spec, bind_dest), propagation);
      }
      EXPECT_EQ(read_file(dir + "/pidfile").value(), std::to_string(c.pid));
      break;
    }
    case Runtime::kDocker: {
      const std::string dir = st.docker_root + "/containers/" + c.id;
      json config = read_json(dir + "/config.v2.json");
      ASSERT_TRUE(config.is_object()) << dir;
      const json& labels = config["Config"]["Labels"];
      EXPECT_EQ(labels.value("io.kubernetes.container.name", ""), c.name);
      EXPECT_EQ(labels.value("io.kubernetes.pod.name", ""), c.pod.name);
      EXPECT_EQ(labels.value("io.kubernetes.pod.namespace", ""), c.pod.namespace_name);
      EXPECT_EQ(labels.value("io.kubernetes.pod.uid", ""), c.pod.uid);
      EXPECT_EQ(labels.value("io.kubernetes.docker.type", ""), "container");
      EXPECT_EQ(config["State"].value("Pid", 0), c.pid);
      EXPECT_TRUE(config["State"].value("Running", false));
      EXPECT_TRUE(exists(dir + "/hostconfig.json"));
      if (!bind_dest.empty()) {
        EXPECT_EQ(config["MountPoints"][bind_dest].value("Propagation", ""), propagation);
      }
      break;
    }
  }
  EXPECT_TRUE(exists(c.log_dir + "/0.log")) << c.log_dir;
}

Result<Container*> start(SeedNode& node, Runtime runtime, CgroupDriver driver, ContainerKind kind,
                         FdTarget target = FdTarget::kDeviceNode) {
  ContainerSpec spec;
  spec.runtime = runtime;
  spec.cgroup_driver = driver;
  spec.kind = kind;
  spec.fd_target = target;
  return node.start_container(spec);
}

// --- the node itself ---------------------------------------------------------------

TEST(SeedNodeLayout, HostSideLooksLikeAKubeletNode) {
  auto created = SeedNode::create();
  ASSERT_TRUE(created.ok()) << created.error().message;
  SeedNode& node = **created;
  const Snapshot snap = snapshot_of(node);

  // The loop device is ours and is what the ioctls set up.
  struct stat st;
  ASSERT_EQ(stat(node.device_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, node.dev());
  EXPECT_EQ(node.device_path(), "/dev/" + node.kernel_name());
  EXPECT_EQ(loop_backing_file(node.kernel_name()), node.image_file());
  EXPECT_EQ(read_file("/sys/block/" + node.kernel_name() + "/loop/autoclear").value(), "1\n");
  // Like a kernel rbd mapping, the attachment is no process's open file:
  // otherwise every scan would name the test process as a holder.
  EXPECT_FALSE(has_fd_on(getpid(), node.dev()));

  const auto self = mounts_of(getpid());
  auto find = [&](const std::string& path) -> const MountEntry* {
    const MountEntry* last = nullptr;
    for (const auto& m : self)
      if (m.mount_point == path) last = &m;
    return last;
  };
  const MountEntry* tmp = find(node.tmp_dir());
  ASSERT_NE(tmp, nullptr);
  EXPECT_NE(tmp->shared_group, 0u) << "the temp dir must be rshared like a systemd host";

  EXPECT_EQ(node.global_mount_path(), node.kubelet_root() + "/plugins/kubernetes.io/rbd/mounts/" +
                                          node.pool() + "-image-" + node.image());
  EXPECT_EQ(node.pod_volume_path(), node.kubelet_root() + "/pods/" + node.owner_pod().uid +
                                        "/volumes/kubernetes.io~rbd/" + node.pv_name());
  const MountEntry* global = find(node.global_mount_path());
  const MountEntry* volume = find(node.pod_volume_path());
  ASSERT_NE(global, nullptr);
  ASSERT_NE(volume, nullptr);
  EXPECT_EQ(global->dev, node.dev_id());
  EXPECT_EQ(global->fs_type, "ext4");
  EXPECT_EQ(global->source, node.device_path());
  EXPECT_EQ(volume->dev, node.dev_id());
  EXPECT_NE(global->shared_group, 0u);
  EXPECT_EQ(volume->shared_group, global->shared_group) << "a bind of a shared mount is its peer";
  EXPECT_EQ(exclusive_open_errno(node.device_path()), EBUSY);

  // Where mountleak is pointed.
  HostPaths paths = node.host_paths();
  EXPECT_EQ(paths.kubelet(), node.kubelet_root());
  EXPECT_EQ(paths.containerd(), node.tmp_dir() + "/run/containerd/io.containerd.runtime.v2.task");
  EXPECT_EQ(paths.crio(), node.tmp_dir() + "/run/containers/storage/overlay-containers");
  EXPECT_EQ(paths.docker(), node.tmp_dir() + "/var/lib/docker");
  EXPECT_EQ(paths.pod_logs(), node.tmp_dir() + "/var/log/pods");
  EXPECT_EQ(paths.proc(), "/proc");
  EXPECT_TRUE(paths.tracks_device(node.kernel_name()));
  EXPECT_FALSE(paths.tracks_device("rbd0"));
  for (const auto& dir : {paths.kubelet(), paths.containerd(), paths.crio(), paths.docker(),
                          paths.pod_logs()})
    EXPECT_TRUE(exists(dir)) << dir;
  const std::vector<std::string> expected_args = {
      "--kubelet-root",  paths.kubelet(),   "--containerd-state", paths.containerd(),
      "--crio-state",    paths.crio(),      "--docker-root",      paths.docker(),
      "--pod-log-dir",   paths.pod_logs(),  "--devices",          node.kernel_name(),
      "--host-mntns",    std::to_string(getpid())};
  EXPECT_EQ(node.cli_args(), expected_args);
  EXPECT_EQ(node.host_pid(), getpid());

  node.teardown();
  EXPECT_TRUE(node.teardown_errors().empty()) << join(node.teardown_errors());
  expect_clean(snap);
}

TEST(SeedNodeLayout, TwoNodesSideBySideGetDistinctDevicesAndDirs) {
  auto a = SeedNode::create();
  auto b = SeedNode::create();
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_NE((*a)->tmp_dir(), (*b)->tmp_dir());
  EXPECT_NE((*a)->device_path(), (*b)->device_path());
  EXPECT_NE((*a)->owner_pod().uid, (*b)->owner_pod().uid);
}

// --- every variant, every runtime and cgroup driver ---------------------------------

class SeedNodeVariants : public testing::TestWithParam<std::tuple<Runtime, CgroupDriver>> {};

TEST_P(SeedNodeVariants, PropagationDecidesWhoKeepsTheDevice) {
  const auto [runtime, driver] = GetParam();
  auto created = SeedNode::create();
  ASSERT_TRUE(created.ok()) << created.error().message;
  SeedNode& node = **created;
  const DevId dev = node.dev_id();

  auto priv = start(node, runtime, driver, ContainerKind::kLogCollectorPrivate);
  ASSERT_TRUE(priv.ok()) << priv.error().message;
  auto slave = start(node, runtime, driver, ContainerKind::kLogCollectorSlave);
  ASSERT_TRUE(slave.ok()) << slave.error().message;
  auto owner = start(node, runtime, driver, ContainerKind::kVolumeOwner);
  ASSERT_TRUE(owner.ok()) << owner.error().message;
  auto fd_dev = start(node, runtime, driver, ContainerKind::kFdHolder, FdTarget::kDeviceNode);
  ASSERT_TRUE(fd_dev.ok()) << fd_dev.error().message;
  auto fd_file = start(node, runtime, driver, ContainerKind::kFdHolder, FdTarget::kFileOnVolume);
  ASSERT_TRUE(fd_file.ok()) << fd_file.error().message;

  const std::string in_container_global = "/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts/" +
                                          node.pool() + "-image-" + node.image();
  const std::string in_container_volume = "/var/lib/kubelet/pods/" + node.owner_pod().uid +
                                          "/volumes/kubernetes.io~rbd/" + node.pv_name();
  const std::vector<std::string> both = {in_container_global, in_container_volume};

  // The report's picture: the private log collector has its own copies of
  // both rbd mounts, cut off from the host's propagation.
  auto held = device_mounts((*priv)->pid, dev);
  EXPECT_EQ(mount_points(held), both);
  for (const auto& m : held) {
    EXPECT_EQ(m.master_group, 0u) << m.mount_point;
    EXPECT_EQ(m.shared_group, 0u) << m.mount_point;
  }
  // HostToContainer: the same copies, but slaves of the host's peer group.
  held = device_mounts((*slave)->pid, dev);
  EXPECT_EQ(mount_points(held), both);
  for (const auto& m : held) EXPECT_NE(m.master_group, 0u) << m.mount_point;
  // The owner sees only its volume, where the pod spec puts it.
  EXPECT_EQ(mount_points(device_mounts((*owner)->pid, dev)), std::vector<std::string>{"/data"});
  // The fd holders have no mount of it at all, only a descriptor.
  for (Container* c : {*fd_dev, *fd_file}) {
    EXPECT_TRUE(device_mounts(c->pid, dev).empty());
    EXPECT_TRUE(has_fd_on(c->pid, node.dev()));
  }
  // A container's root is its own tmpfs: the host's tree is gone.
  for (Container* c : node.containers()) {
    auto mounts = mounts_of(c->pid);
    ASSERT_FALSE(mounts.empty());
    auto root = std::find_if(mounts.begin(), mounts.end(),
                             [](const MountEntry& m) { return m.mount_point == "/"; });
    ASSERT_NE(root, mounts.end());
    EXPECT_EQ(root->fs_type, "tmpfs");
    EXPECT_FALSE(has_fd_on(c->pid, node.dev()) && c->kind != ContainerKind::kFdHolder)
        << "only fd holders may keep a descriptor on the device";
  }

  for (Container* c : node.containers()) {
    SCOPED_TRACE(to_string(c->kind));
    EXPECT_EQ(c->id.size(), 64u);
    EXPECT_EQ(c->id.find_first_not_of("0123456789abcdef"), std::string::npos);
    EXPECT_EQ(comm_of(c->pid), c->comm);
    expect_cgroups(node, *c);
  }
  EXPECT_EQ(comm_of((*priv)->pid), "td-agent");
  EXPECT_EQ((*owner)->pod.uid, node.owner_pod().uid);
  expect_metadata(node, **priv, "/var/lib/kubelet", "rprivate");
  expect_metadata(node, **slave, "/var/lib/kubelet", "rslave");
  expect_metadata(node, **owner, "/data", "rprivate");
  expect_metadata(node, **fd_dev, "", "");

  // The kubelet tears the volume down on the host. Unmount propagation
  // reaches the slave copies; the private copies stay: the leak.
  ASSERT_TRUE(node.kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node.kubelet_unmount_global().ok());
  EXPECT_TRUE(device_mounts(getpid(), dev).empty());
  EXPECT_EQ(mount_points(device_mounts((*priv)->pid, dev)), both);
  EXPECT_TRUE(device_mounts((*slave)->pid, dev).empty());
  EXPECT_EQ(mount_points(device_mounts((*owner)->pid, dev)), std::vector<std::string>{"/data"});
  EXPECT_TRUE(has_fd_on((*fd_dev)->pid, node.dev()));
  EXPECT_TRUE(has_fd_on((*fd_file)->pid, node.dev()));
  EXPECT_EQ(exclusive_open_errno(node.device_path()), EBUSY) << "what rbd unmap runs into";
  EXPECT_FALSE(has_fd_on(getpid(), node.dev())) << "the host itself must hold nothing";
  EXPECT_EQ(loop_backing_file(node.kernel_name()), node.image_file()) << "still mapped";

  // Stopping a container removes its process, cgroups and runtime state.
  Container& stopped = **fd_dev;
  const std::vector<std::string> stopped_cgroups = stopped.cgroup_dirs;
  const pid_t stopped_pid = stopped.pid;
  ASSERT_TRUE(node.stop_container(stopped).ok());
  EXPECT_EQ(stopped.pid, -1);
  EXPECT_FALSE(exists("/proc/" + std::to_string(stopped_pid)));
  for (const auto& dir : stopped_cgroups) EXPECT_FALSE(exists(dir)) << dir;
  for (const auto& file : stopped.metadata_files) EXPECT_FALSE(exists(file)) << file;

  const Snapshot snap = snapshot_of(node);
  node.teardown();
  EXPECT_TRUE(node.teardown_errors().empty()) << join(node.teardown_errors());
  expect_clean(snap);
}

TEST_P(SeedNodeVariants, OnlyThePrivateCollectorKeepsTheDeviceBusy) {
  const auto [runtime, driver] = GetParam();
  for (ContainerKind kind : {ContainerKind::kLogCollectorSlave, ContainerKind::kLogCollectorPrivate}) {
    SCOPED_TRACE(to_string(kind));
    auto created = SeedNode::create();
    ASSERT_TRUE(created.ok()) << created.error().message;
    SeedNode& node = **created;
    auto c = start(node, runtime, driver, kind);
    ASSERT_TRUE(c.ok()) << c.error().message;
    ASSERT_TRUE(node.kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node.kubelet_unmount_global().ok());
    EXPECT_EQ(exclusive_open_errno(node.device_path()),
              kind == ContainerKind::kLogCollectorPrivate ? EBUSY : 0);
    // Free but still mapped, as /dev/rbdN would be until `rbd unmap`.
    EXPECT_EQ(loop_backing_file(node.kernel_name()), node.image_file());
    node.teardown();
    EXPECT_TRUE(node.teardown_errors().empty()) << join(node.teardown_errors());
  }
}

std::string variant_name(const testing::TestParamInfo<std::tuple<Runtime, CgroupDriver>>& info) {
  return std::string(to_string(std::get<0>(info.param))) + "_" +
         to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllRuntimes, SeedNodeVariants,
                         testing::Combine(testing::Values(Runtime::kContainerd, Runtime::kCrio,
                                                          Runtime::kDocker),
                                          testing::Values(CgroupDriver::kSystemd,
                                                          CgroupDriver::kCgroupfs)),
                         variant_name);

// --- failures and cleanup ------------------------------------------------------------

TEST(SeedNodeErrors, ContainerSetupErrorComesBackAsText) {
  SeedOptions options;
  options.mount_volume = false;  // so the file an fd holder wants is not there
  auto created = SeedNode::create(options);
  ASSERT_TRUE(created.ok()) << created.error().message;
  SeedNode& node = **created;
  EXPECT_TRUE(device_mounts(getpid(), node.dev_id()).empty());

  ContainerSpec spec;
  spec.kind = ContainerKind::kFdHolder;
  spec.fd_target = FdTarget::kFileOnVolume;
  auto c = node.start_container(spec);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("open " + node.data_file_path() + ": ENOENT"), std::string::npos)
      << c.error().message;
  EXPECT_TRUE(node.containers().empty());
  // Nothing of the failed container stays behind.
  for (const auto& h : node.cgroup_hierarchies()) {
    const std::string root = h.mount_point + "/" + node.unique_name();
    EXPECT_FALSE(exists(root + "/kubepods.slice")) << root;
  }
  DIR* d = opendir((node.state_paths().containerd_state + "/k8s.io").c_str());
  ASSERT_NE(d, nullptr);
  int entries = 0;
  while (dirent* e = readdir(d))
    if (e->d_name[0] != '.') ++entries;
  closedir(d);
  EXPECT_EQ(entries, 1) << "only the pod sandbox's metadata may remain";

  // The kubelet mounts on demand, and then the same container starts.
  ASSERT_TRUE(node.kubelet_mount_global().ok());
  ASSERT_TRUE(node.kubelet_mount_pod_volume().ok());
  EXPECT_EQ(device_mounts(getpid(), node.dev_id()).size(), 2u);
  c = node.start_container(spec);
  ASSERT_TRUE(c.ok()) << c.error().message;
  node.teardown();
  EXPECT_TRUE(node.teardown_errors().empty()) << join(node.teardown_errors());
}

Snapshot g_failed_midway;

void build_then_fail_midway() {
  auto created = SeedNode::create();
  ASSERT_TRUE(created.ok()) << created.error().message;
  SeedNode& node = **created;
  for (ContainerKind kind : {ContainerKind::kLogCollectorPrivate, ContainerKind::kLogCollectorSlave,
                             ContainerKind::kVolumeOwner, ContainerKind::kFdHolder}) {
    ContainerSpec spec;
    spec.kind = kind;
    ASSERT_TRUE(node.start_container(spec).ok());
  }
  ASSERT_TRUE(node.kubelet_unmount_pod_volume().ok());  // leave a leak in place
  g_failed_midway = snapshot_of(node);
  FAIL() << "deliberate failure midway";
}

TEST(SeedNodeCleanup, TeardownWhenAnAssertionFailsMidway) {
  EXPECT_FATAL_FAILURE(build_then_fail_midway(), "deliberate failure midway");
  ASSERT_FALSE(g_failed_midway.tmp_dir.empty());
  EXPECT_EQ(g_failed_midway.pids.size(), 4u);
  expect_clean(g_failed_midway);
}

TEST(SeedNodeCleanup, TeardownWhenAnExceptionUnwinds) {
  Snapshot snap;
  try {
    auto created = SeedNode::create();
    ASSERT_TRUE(created.ok()) << created.error().message;
    ContainerSpec spec;
    spec.runtime = Runtime::kDocker;
    ASSERT_TRUE((*created)->start_container(spec).ok());
    snap = snapshot_of(**created);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  ASSERT_FALSE(snap.tmp_dir.empty());
  expect_clean(snap);
}

TEST(SeedNodeCleanup, TeardownIsIdempotent) {
  auto created = SeedNode::create();
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_TRUE((*created)->start_container(ContainerSpec{}).ok());
  const Snapshot snap = snapshot_of(**created);
  (*created)->teardown();
  (*created)->teardown();
  EXPECT_TRUE((*created)->torn_down());
  EXPECT_TRUE((*created)->teardown_errors().empty()) << join((*created)->teardown_errors());
  EXPECT_FALSE((*created)->start_container(ContainerSpec{}).ok());
  created = Error{"dropped", 0};  // runs the destructor on a torn-down node
  expect_clean(snap);
}

// A test process that dies without any teardown: its containers die with it
// (PDEATHSIG), its mounts with its namespace, the loop device autoclears, and
// the next create() removes the directories and cgroups left behind.
TEST(SeedNodeCleanup, CrashedRunIsSweptByTheNextCreate) {
  int report[2];
  ASSERT_EQ(pipe(report), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(report[0]);
    // A crashed test runs in its own namespace, as every test binary does.
    if (!enter_private_mount_namespace().ok()) _exit(2);
    auto created = SeedNode::create();
    if (!created.ok()) _exit(3);
    ContainerSpec spec;
    spec.kind = ContainerKind::kLogCollectorPrivate;
    if (!(*created)->start_container(spec).ok()) _exit(4);
    spec.kind = ContainerKind::kFdHolder;
    if (!(*created)->start_container(spec).ok()) _exit(5);
    std::string line = (*created)->tmp_dir() + "\n" + (*created)->kernel_name() + "\n" +
                       (*created)->image_file() + "\n" + (*created)->unique_name() + "\n";
    for (Container* c : (*created)->containers()) line += std::to_string(c->pid) + "\n";
    if (write(report[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) _exit(6);
    _exit(0);  // no destructor, no teardown: a crash
  }
  close(report[1]);
  std::string text;
  char buf[1024];
  ssize_t n;
  while ((n = read(report[0], buf, sizeof(buf))) > 0) text.append(buf, static_cast<size_t>(n));
  close(report[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;

  std::istringstream lines(text);
  Snapshot snap;
  std::string unique;
  std::getline(lines, snap.tmp_dir);
  std::getline(lines, snap.kernel_name);
  std::getline(lines, snap.image_file);
  std::getline(lines, unique);
  std::vector<pid_t> orphans;
  for (std::string pid; std::getline(lines, pid);) orphans.push_back(std::stoi(pid));
  ASSERT_EQ(orphans.size(), 2u);

  // The orphaned containers are killed by the kernel; init reaps them.
  for (int i = 0; i < 250; ++i) {
    bool any = false;
    for (pid_t p : orphans) any = any || exists("/proc/" + std::to_string(p));
    bool bound = loop_backing_file(snap.kernel_name) == snap.image_file;
    if (!any && !bound) break;
    usleep(20000);
  }
  for (pid_t p : orphans) EXPECT_FALSE(exists("/proc/" + std::to_string(p))) << p;
  EXPECT_NE(loop_backing_file(snap.kernel_name), snap.image_file) << "autoclear did not free it";
  EXPECT_TRUE(exists(snap.tmp_dir)) << "a crash leaves the temp dir";

  auto next = SeedNode::create();
  ASSERT_TRUE(next.ok()) << next.error().message;
  EXPECT_GE((*next)->swept_stale(), 2u);  // the temp dir and at least one cgroup parent
  EXPECT_FALSE(exists(snap.tmp_dir));
  for (const auto& h : (*next)->cgroup_hierarchies())
    EXPECT_FALSE(exists(h.mount_point + "/" + unique)) << h.mount_point;
  (*next)->teardown();
  EXPECT_TRUE((*next)->teardown_errors().empty()) << join((*next)->teardown_errors());
}

// The guard that keeps a careless caller from mounting in the real host's
// namespace: create() runs only in the namespace enter_private_mount_namespace()
// made. The child here moves to a namespace of its own making instead.
TEST(SeedNodeErrors, RefusesToRunOutsideThePrivateNamespace) {
  ASSERT_TRUE(in_private_mount_namespace());
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 || in_private_mount_namespace()) _exit(2);
    auto created = SeedNode::create();
    if (created.ok()) _exit(1);  // the destructor still cleans up
    _exit(created.error().message.find("enter_private_mount_namespace") != std::string::npos ? 0
                                                                                              : 3);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// --- main() refuses to run without root --------------------------------------------

struct RunResult {
  int status = -1;
  std::string output;
};

// Runs a copy of this test binary as nobody (the copy sits in a 0755 dir so
// nobody can execute it whatever the build tree's permissions).
RunResult run_as_nobody(const std::string& binary, const std::vector<std::string>& args) {
  int out[2];
  if (pipe(out) != 0) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    if (setgroups(0, nullptr) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(97);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(98);
  }
  close(out[1]);
  RunResult r;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) r.output.append(buf, static_cast<size_t>(n));
  close(out[0]);
  waitpid(pid, &r.status, 0);
  return r;
}

TEST(PrivilegedMain, WithoutRootEveryTestFailsAndListingStillWorks) {
  char dir_template[] = "/tmp/mountleak-main-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string copy = dir + "/privileged_tests";
  auto self = read_file("/proc/self/exe");
  ASSERT_TRUE(self.ok());
  ASSERT_TRUE(write_file(copy, *self).ok());
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod(copy.c_str(), 0755), 0);

  RunResult listed = run_as_nobody(copy, {"--gtest_list_tests"});
  RunResult ran = run_as_nobody(copy, {"--gtest_filter=SeedNodeLayout.*"});
  remove_tree(dir);

  ASSERT_TRUE(WIFEXITED(listed.status)) << listed.output;
  EXPECT_EQ(WEXITSTATUS(listed.status), 0) << listed.output;
  EXPECT_NE(listed.output.find("SeedNodeLayout."), std::string::npos) << listed.output;

  ASSERT_TRUE(WIFEXITED(ran.status)) << ran.output;
  EXPECT_NE(WEXITSTATUS(ran.status), 0) << ran.output;
  EXPECT_NE(ran.output.find("privileged tests need root (run scripts/test.sh as root)"),
            std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("[  FAILED  ] SeedNodeLayout.HostSideLooksLikeAKubeletNode"),
            std::string::npos)
      << ran.output;
  EXPECT_NE(ran.output.find("2 FAILED TESTS"), std::string::npos) << ran.output;
  EXPECT_EQ(ran.output.find("[  PASSED  ] 1"), std::string::npos) << ran.output;
  EXPECT_EQ(ran.output.find("[  SKIPPED ]"), std::string::npos) << ran.output;
}

}  // namespace
}  // namespace mountleak::fixture

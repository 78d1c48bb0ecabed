// SPDX-License-Identifier: Apache-2.0
// The seed scenario under containerd and runc (Debian's containerd 1.6,
// containerd_runtime.h) with pods made as kubelet's CRI plugin makes them,
// without kubelet, CNI or a registry: in containerd namespace k8s.io, each
// pod a sandbox (a busybox `sleep` in place of pause) whose network, IPC and
// UTS namespaces its container joins, both below the pod's cgroup
// kubepods/besteffort/pod<uid>/<id> (the cgroupfs driver) under a parent of
// the test's own, with the OCI annotations the CRI plugin writes
// (io.kubernetes.cri.container-type sandbox or container, sandbox-id,
// sandbox-name, sandbox-namespace, sandbox-uid, container-name, and the
// sandbox's log directory), so the runc v2 shim serves the whole pod under
// the sandbox's id, as on a node. A log collector gets the kubelet root as a
// hostPath the way the CRI plugin mounts one: rbind, rprivate (no
// mountPropagation: the leak) or rbind, rslave (HostToContainer, no leak).
// mountleak reads containerd's own task state through --containerd-state.
//   - scan --device and scan --risks name the private collector's id, name,
//     pod and uid, and never the rslave one or a sandbox;
//   - trace names it in hostpath_risk when runc makes it, busy when an
//     O_EXCL open and an umount fail with EBUSY, and leak at the kubelet's
//     unmount, and never names the rslave one;
//   - release --yes unmounts its copy while it runs, names it, leaves the
//     rslave one alone, and the device is free.

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "containerd_runtime.h"
#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr auto kFindingTimeout = 15s;

std::string random_from(const char* alphabet, size_t n) {
  static std::random_device rd;
  std::uniform_int_distribution<size_t> pick(0, std::char_traits<char>::length(alphabet) - 1);
  std::string out;
  for (size_t i = 0; i < n; ++i) out += alphabet[pick(rd)];
  return out;
}

// containerd's CRI ids are 64 hex digits, pod UIDs are UUIDs.
std::string random_container_id() { return random_from("0123456789abcdef", 64); }
std::string random_uid() {
  return random_from("0123456789abcdef", 8) + "-" + random_from("0123456789abcdef", 4) + "-" +
         random_from("0123456789abcdef", 4) + "-" + random_from("0123456789abcdef", 4) + "-" +
         random_from("0123456789abcdef", 12);
}

// A pod as the CRI plugin runs it: its sandbox first.
struct CriPod {
  fixture::PodRef ref;
  std::string sandbox_id;
  pid_t sandbox_pid = -1;
};

// One of a pod's containers.
struct CriContainer {
  std::string id;
  std::string name;  // the Kubernetes container name
  fixture::PodRef pod;
  pid_t pid = -1;  // its first process, on the host
};

// The holder names this container exactly, as containerd's task state says
// (compared as JSON: what mountleak cannot know is null).
void expect_names(const nlohmann::json& holder, const CriContainer& c) {
  ASSERT_TRUE(holder["container"].is_object()) << holder.dump();
  EXPECT_EQ(holder["container"]["id"], c.id);
  EXPECT_EQ(holder["container"]["name"], c.name);
  EXPECT_EQ(holder["container"]["runtime"], "containerd");
  ASSERT_TRUE(holder["pod"].is_object()) << holder.dump();
  EXPECT_EQ(holder["pod"]["name"], c.pod.name);
  EXPECT_EQ(holder["pod"]["namespace"], c.pod.namespace_name);
  EXPECT_EQ(holder["pod"]["uid"], c.pod.uid);
}

bool names(const nlohmann::json& e, const std::string& kind, const std::string& id) {
  return e.value("event", "") == kind && !holders_of_container(e, id).empty();
}

std::string findings_of(const TraceProcess& trace) {
  std::string out;
  for (const auto& e : trace.events()) {
    const std::string kind = e.value("event", "");
    if (kind == "hostpath_risk" || kind == "mntns_copy" || kind == "leak" || kind == "busy") out += e.dump() + "\n";
  }
  return out.empty() ? "no findings; events: " + trace.describe() : out;
}

// The suite is named for what it runs: containerd as the CRI plugin drives it.
class ContainerdCri : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
    auto rt = ContainerdRuntime::start(node_->tmp_dir() + "/containerd", node_->unique_name() + "-cri",
                                       ContainerdRuntime::kCriNamespace);
    ASSERT_TRUE(rt) << rt.error().message;
    runtime_ = std::move(*rt);
    for (const auto& what : runtime_->swept_stale()) std::printf("swept from a run killed earlier: %s\n", what.c_str());
  }

  void TearDown() override {
    if (trace_) {
      trace_->stop();
      trace_.reset();
    }
    if (runtime_) {
      runtime_->stop();
      EXPECT_TRUE(runtime_->stop_errors().empty()) << ::testing::PrintToString(runtime_->stop_errors());
    }
    if (node_) {
      node_->teardown();
      EXPECT_TRUE(node_->teardown_errors().empty()) << ::testing::PrintToString(node_->teardown_errors());
    }
  }

  // The seed node's options, with containerd's own task state as
  // --containerd-state.
  std::vector<std::string> mountleak_args() const {
    std::vector<std::string> args = node_->cli_args();
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--containerd-state") args[i + 1] = runtime_->task_state_dir();
    return args;
  }

  // A busybox image of its own for each container, as a snapshot would be.
  std::optional<std::string> rootfs_for(const std::string& id) {
    const std::string rootfs = node_->tmp_dir() + "/rootfs-" + id.substr(0, 12);
    auto built = build_busybox_rootfs(rootfs);
    EXPECT_TRUE(built) << built.error().message;
    if (!built) return std::nullopt;
    return rootfs;
  }

  // The annotations the CRI plugin writes into every spec of a pod.
  static std::vector<std::string> pod_annotations(const CriPod& pod, const std::string& type) {
    return {"--annotation=io.kubernetes.cri.container-type=" + type,
            "--annotation=io.kubernetes.cri.sandbox-id=" + pod.sandbox_id,
            "--annotation=io.kubernetes.cri.sandbox-name=" + pod.ref.name,
            "--annotation=io.kubernetes.cri.sandbox-namespace=" + pod.ref.namespace_name,
            "--annotation=io.kubernetes.cri.sandbox-uid=" + pod.ref.uid};
  }
  static std::string pod_cgroup(const CriPod& pod, const std::string& id) {
    return "kubepods/besteffort/pod" + pod.ref.uid + "/" + id;
  }

  // RunPodSandbox: the sandbox, in the pod's cgroup.
  std::optional<CriPod> run_pod(const std::string& app) {
    CriPod pod;
    pod.ref = {"kube-system", app + "-" + random_from("bcdfghjklmnpqrstvwxz2456789", 5), random_uid()};
    pod.sandbox_id = random_container_id();
    auto rootfs = rootfs_for(pod.sandbox_id);
    if (!rootfs) return std::nullopt;
    std::vector<std::string> options = pod_annotations(pod, "sandbox");
    options.push_back("--annotation=io.kubernetes.cri.sandbox-log-directory=/var/log/pods/" + pod.ref.namespace_name +
                      "_" + pod.ref.name + "_" + pod.ref.uid);
    auto pid = runtime_->run_detached(pod.sandbox_id, *rootfs, pod_cgroup(pod, pod.sandbox_id), options,
                                      {"/bin/busybox", "sleep", "100000"});
    EXPECT_TRUE(pid) << pid.error().message;
    if (!pid) return std::nullopt;
    pod.sandbox_pid = *pid;
    return pod;
  }

  // CreateContainer + StartContainer: a log collector in `pod` with the
  // kubelet root as a hostPath volume at /var/lib/kubelet; `propagation` is
  // the CRI plugin's option for the volumeMount's mountPropagation:
  // "rprivate" (None) or "rslave" (HostToContainer).
  std::optional<CriContainer> run_collector(const CriPod& pod, const std::string& name,
                                            const std::string& propagation) {
    CriContainer c;
    c.id = random_container_id();
    c.name = name;
    c.pod = pod.ref;
    auto rootfs = rootfs_for(c.id);
    if (!rootfs) return std::nullopt;
    std::vector<std::string> options = pod_annotations(pod, "container");
    options.push_back("--annotation=io.kubernetes.cri.container-name=" + name);
    options.push_back("--annotation=io.kubernetes.cri.image-name=docker.io/library/busybox:latest");
    const std::string sandbox_ns = "/proc/" + std::to_string(pod.sandbox_pid) + "/ns/";
    for (const auto& [type, file] : {std::pair{"network", "net"}, {"ipc", "ipc"}, {"uts", "uts"}})
      options.push_back(std::string("--with-ns=") + type + ":" + sandbox_ns + file);
    options.push_back("--mount=type=bind,src=" + node_->kubelet_root() +
                      ",dst=/var/lib/kubelet,options=rbind:" + propagation + ":rw");
    auto pid =
        runtime_->run_detached(c.id, *rootfs, pod_cgroup(pod, c.id), options, {"/bin/busybox", "sleep", "100000"});
    EXPECT_TRUE(pid) << pid.error().message;
    if (!pid) return std::nullopt;
    c.pid = *pid;
    return c;
  }

  // The two collectors of the field report, each in a pod of its own.
  void run_both_collectors() {
    auto leaky_pod = run_pod("fluentd");
    ASSERT_TRUE(leaky_pod);
    auto slave_pod = run_pod("fluent-bit");
    ASSERT_TRUE(slave_pod);
    pods_ = {*leaky_pod, *slave_pod};
    auto slave = run_collector(*slave_pod, "fluent-bit", "rslave");
    ASSERT_TRUE(slave);
    auto leaky = run_collector(*leaky_pod, "fluentd", "rprivate");
    ASSERT_TRUE(leaky);
    leaky_ = *leaky;
    slave_ = *slave;
  }

  void kubelet_unmounts() {
    ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  }

  // No holder or risk names a pod's sandbox: it binds nothing.
  void expect_no_sandbox_in(const nlohmann::json& e) const {
    for (const auto& pod : pods_) EXPECT_TRUE(holders_of_container(e, pod.sandbox_id).empty()) << e.dump(2);
    if (e.contains("container") && e["container"].is_object()) {
      for (const auto& pod : pods_) EXPECT_NE(e["container"].value("id", ""), pod.sandbox_id) << e.dump(2);
    }
  }

  void start_trace() {
    trace_ = std::make_unique<TraceProcess>(mountleak_args());
    ASSERT_TRUE(trace_->started());
    ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << "no ready event; stderr: " << trace_->stderr_text();
  }
  std::optional<nlohmann::json> wait_naming(const std::string& kind, const CriContainer& c,
                                            const std::function<bool(const nlohmann::json&)>& also = {}) {
    return trace_->wait_for([&](const nlohmann::json& e) { return names(e, kind, c.id) && (!also || also(e)); },
                            kFindingTimeout);
  }

  std::unique_ptr<fixture::SeedNode> node_;
  std::unique_ptr<ContainerdRuntime> runtime_;
  std::unique_ptr<TraceProcess> trace_;
  std::vector<CriPod> pods_;
  CriContainer leaky_, slave_;
};

TEST_F(ContainerdCri, ScanDeviceNamesThePrivateCollectorAndNotTheHostToContainerOne) {
  run_both_collectors();
  ASSERT_FALSE(HasFatalFailure());
  kubelet_unmounts();

  RunResult r = run_mountleak(with({"scan", "--device", node_->device_path(), "-o", "json"}, mountleak_args()));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  std::optional<nlohmann::json> found;
  for (const auto& line : r.json_lines())
    if (line.value("event", "") == "holders") found = line;
  ASSERT_TRUE(found) << r.out << r.err;
  EXPECT_TRUE((*found)["leaked"].get<bool>()) << found->dump(2);
  std::vector<nlohmann::json> leaks;
  for (const auto& h : (*found)["holders"])
    if (h["role"] == "leak") leaks.push_back(h);
  ASSERT_EQ(leaks.size(), 1u) << found->dump(2);
  expect_names(leaks[0], leaky_);
  const auto& pids = leaks[0]["pids"];
  EXPECT_NE(std::find(pids.begin(), pids.end(), leaky_.pid), pids.end()) << leaks[0].dump();
  // How it got there, from the spec containerd keeps for the task.
  EXPECT_EQ(leaks[0]["via"],
            node_->kubelet_root() + " bound into the container at /var/lib/kubelet with private propagation")
      << leaks[0].dump();
  const std::string hint = leaks[0].value("hint", "");
  EXPECT_NE(hint.find("container fluentd (pod kube-system/" + leaky_.pod.name + ")"), std::string::npos) << hint;
  // The HostToContainer collector lost its copy with the kubelet's unmount.
  EXPECT_TRUE(holders_of_container(*found, slave_.id).empty()) << found->dump(2);
  expect_no_sandbox_in(*found);

  // What mountleak falls back on when a cgroup names no container: one shim
  // per pod, named after the sandbox, whose child is the collector, and the
  // collector's bundle's init.pid naming that child.
  const std::string stat = read_whole_file("/proc/" + std::to_string(leaky_.pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string state;
  pid_t shim = -1;
  fields >> state >> shim;
  std::string shim_cmdline = read_whole_file("/proc/" + std::to_string(shim) + "/cmdline");
  std::replace(shim_cmdline.begin(), shim_cmdline.end(), '\0', ' ');
  EXPECT_NE(shim_cmdline.find("containerd-shim-runc-v2 -namespace k8s.io -id " + pods_[0].sandbox_id + " "),
            std::string::npos)
      << shim_cmdline;
  EXPECT_EQ(read_whole_file(runtime_->task_state_dir() + "/k8s.io/" + leaky_.id + "/init.pid"),
            std::to_string(leaky_.pid));
}

TEST_F(ContainerdCri, ScanRisksNamesThePrivateCollectorAndNotTheHostToContainerOne) {
  run_both_collectors();
  ASSERT_FALSE(HasFatalFailure());

  RunResult r = run_mountleak(with({"scan", "--risks", "-o", "json"}, mountleak_args()));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  // The risks of this test's containers: the whole machine is scanned, and
  // other tests' containers may bind a directory above this node's kubelet
  // root (a node has other pods too).
  std::set<std::string> ours = {leaky_.id, slave_.id};
  for (const auto& pod : pods_) ours.insert(pod.sandbox_id);
  std::vector<nlohmann::json> risks;
  for (const auto& line : r.json_lines())
    if (line.value("event", "") == "hostpath_risk" && line["container"].is_object() &&
        ours.count(line["container"].value("id", "")))
      risks.push_back(line);
  ASSERT_EQ(risks.size(), 1u) << r.out;
  expect_names(risks[0], leaky_);
  EXPECT_EQ(risks[0]["bind"]["source"], node_->kubelet_host_path()) << risks[0].dump();
  EXPECT_EQ(risks[0]["bind"]["kubelet_root"], true) << risks[0].dump();
  EXPECT_EQ(risks[0]["bind"]["mountpoint"], "/var/lib/kubelet") << risks[0].dump();
  EXPECT_EQ(risks[0]["bind"]["propagation"], "private") << risks[0].dump();
  const std::string hint = risks[0].value("hint", "");
  EXPECT_NE(hint.find("container fluentd (pod kube-system/" + leaky_.pod.name + ")"), std::string::npos) << hint;
}

TEST_F(ContainerdCri, TraceNamesRiskBusyAndLeakForThePrivateCollectorOnly) {
  start_trace();
  run_both_collectors();
  ASSERT_FALSE(HasFatalFailure());

  auto risk = wait_naming("hostpath_risk", leaky_);
  ASSERT_TRUE(risk) << findings_of(*trace_);
  expect_names(holders_of_container(*risk, leaky_.id)[0], leaky_);
  EXPECT_EQ((*risk)["bind"]["propagation"], "private") << risk->dump();
  EXPECT_EQ((*risk)["bind"]["source"], node_->kubelet_root()) << risk->dump();
  // runc binds before pivot_root: judged before it, the target is in the
  // container's rootfs as the runtime's namespace names it; once the
  // namespace has settled, as the container sees it.
  const std::string target = (*risk)["bind"].value("mountpoint", "");
  const std::string in_rootfs = node_->tmp_dir() + "/rootfs-" + leaky_.id.substr(0, 12) + "/var/lib/kubelet";
  EXPECT_TRUE(target == "/var/lib/kubelet" || target == in_rootfs) << risk->dump();

  // rbd unmap's exclusive open, while the host still has it mounted.
  ASSERT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  auto busy = wait_naming("busy", leaky_, [](const nlohmann::json& e) { return e["source"] == "open_excl"; });
  ASSERT_TRUE(busy) << findings_of(*trace_);
  EXPECT_EQ((*busy)["process"]["pid"], getpid());
  expect_names(holders_of_container(*busy, leaky_.id)[0], leaky_);

  // umount2 of the global mount with a file open on it.
  const std::string file = node_->global_mount_path() + "/busy-file";
  const int open_file = open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(open_file, 0);
  const int umounted = umount2(node_->global_mount_path().c_str(), 0);
  const int umount_errno = errno;
  close(open_file);
  ASSERT_EQ(umounted, -1);
  ASSERT_EQ(umount_errno, EBUSY);
  auto umount_busy = wait_naming("busy", leaky_, [](const nlohmann::json& e) { return e["source"] == "umount"; });
  ASSERT_TRUE(umount_busy) << findings_of(*trace_);
  expect_names(holders_of_container(*umount_busy, leaky_.id)[0], leaky_);

  kubelet_unmounts();
  auto leak = wait_naming("leak", leaky_);
  ASSERT_TRUE(leak) << findings_of(*trace_);
  ASSERT_EQ((*leak)["holders"].size(), 1u) << leak->dump(2);
  EXPECT_EQ((*leak)["holders"][0]["role"], "leak");
  expect_names((*leak)["holders"][0], leaky_);

  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  for (const auto& e : trace_->events()) {
    for (const char* kind : {"hostpath_risk", "mntns_copy", "leak"})
      EXPECT_FALSE(names(e, kind, slave_.id)) << e.dump();
    const std::string kind = e.value("event", "");
    if (kind == "hostpath_risk" || kind == "leak" || kind == "busy") expect_no_sandbox_in(e);
    // A busy event lists every namespace holding the device, the rslave
    // copy too, as the follower it is.
    if (kind == "busy") {
      for (const auto& h : holders_of_container(e, slave_.id)) EXPECT_EQ(h["role"], "follower") << e.dump();
    }
  }
}

TEST_F(ContainerdCri, ReleaseFreesTheDeviceWhileThePrivateCollectorRuns) {
  run_both_collectors();
  ASSERT_FALSE(HasFatalFailure());
  kubelet_unmounts();
  ASSERT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  ASSERT_GT(mounts_of_device(leaky_.pid, node_->dev_id()), 0);

  RunResult r =
      run_mountleak(with({"release", "--device", node_->device_path(), "--yes", "-o", "json"}, mountleak_args()));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<nlohmann::json> done;
  for (const auto& line : r.json_lines()) {
    if (line.value("event", "") != "release") continue;
    expect_no_sandbox_in(line);
    if (line["container"].is_object() && line["container"].value("id", "") == slave_.id) {
      EXPECT_EQ(line["action"], "kept") << line.dump(2);
    }
    if (line.value("role", "") == "leak") done.push_back(line);
  }
  ASSERT_EQ(done.size(), 1u) << r.out;
  EXPECT_EQ(done[0]["action"], "done") << done[0].dump(2);
  expect_names(done[0], leaky_);

  EXPECT_EQ(exclusive_open_error(node_->device_path()), 0) << "the device is still busy";
  EXPECT_EQ(mounts_of_device(leaky_.pid, node_->dev_id()), 0);
  // Neither collector was restarted: both tasks still run, with their own
  // first processes, and the rslave one keeps its bind of the kubelet root.
  for (const auto& c : {leaky_, slave_}) {
    CtrResult task = runtime_->ctr({"tasks", "ps", c.id});
    EXPECT_EQ(task.exit_code, 0) << task.err;
    EXPECT_NE(task.out.find(std::to_string(c.pid)), std::string::npos) << task.out;
  }
  std::ifstream mountinfo("/proc/" + std::to_string(slave_.pid) + "/mountinfo");
  const std::string slave_mounts{std::istreambuf_iterator<char>(mountinfo), {}};
  EXPECT_NE(slave_mounts.find(" /var/lib/kubelet "), std::string::npos) << slave_mounts;
}

}  // namespace
}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
// The seed scenario under a real dockerd (Debian's docker.io 20.10, the
// containerd it starts, runc; dockerd_runtime.h), with containers made as
// kubelet's dockershim made them: named k8s_<container>_<pod>_<ns>_<uid>_0,
// labelled io.kubernetes.{pod.name,pod.namespace,pod.uid,container.name},
// put below a kubepods pod cgroup with --cgroup-parent (cgroupfs driver),
// and given the kubelet root as a bind: without a propagation option (what
// dockershim wrote for a hostPath without mountPropagation, docker's
// rprivate: the leak) or with :rslave (HostToContainer, no leak).
// mountleak reads the real daemon's records through --docker-root.
//   - scan and trace (hostpath_risk when the container is created, busy on
//     a failing O_EXCL open and umount, leak at the kubelet's unmount) name
//     the private collector's id, name, pod and uid, and never the rslave one;
//   - release --yes unmounts the private collector's copy while it runs,
//     names its id, name, pod and uid, leaves the rslave one alone, and the
//     device is free;
//   - the field report's other cause: with --live-restore, dockerd stopped
//     and the container's record removed, the container still runs under
//     its shim and holds the copy; scan and trace name it by id from its
//     shim and cgroup, say its runtime has no record of it, and tell the
//     operator to stop that shim's container, not to restart a pod.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <cstring>
#include <random>
#include <thread>

#include "dockerd_runtime.h"
#include "mountleak_process.h"
#include "runtime_support.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kImage = "mountleak-busybox:test";
constexpr auto kFindingTimeout = 15s;

std::string random_uid() {
  std::random_device rd;
  std::uniform_int_distribution<int> hex(0, 15);
  std::string out;
  for (int len : {8, 4, 4, 4, 12}) {
    if (!out.empty()) out += '-';
    for (int i = 0; i < len; ++i) out += "0123456789abcdef"[hex(rd)];
  }
  return out;
}

// A container as dockershim made it.
struct DockerContainer {
  std::string id;    // docker's full 64-hex id
  std::string name;  // the Kubernetes container name
  fixture::PodRef pod;
  pid_t pid = -1;    // its first process, on the host
};

// The holder names this container exactly, as docker's records say.
void expect_names(const nlohmann::json& holder, const DockerContainer& c) {
  ASSERT_TRUE(holder["container"].is_object()) << holder.dump();
  EXPECT_EQ(holder["container"].value("id", ""), c.id);
  EXPECT_EQ(holder["container"].value("name", ""), c.name);
  EXPECT_EQ(holder["container"].value("runtime", ""), "docker");
  ASSERT_TRUE(holder["pod"].is_object()) << holder.dump();
  EXPECT_EQ(holder["pod"].value("name", ""), c.pod.name);
  EXPECT_EQ(holder["pod"].value("namespace", ""), c.pod.namespace_name);
  EXPECT_EQ(holder["pod"].value("uid", ""), c.pod.uid);
}

bool names(const nlohmann::json& e, const std::string& kind, const DockerContainer& c) {
  return e.value("event", "") == kind && !holders_of_container(e, c.id).empty();
}

std::string findings_of(const TraceProcess& trace) {
  std::string out;
  for (const auto& e : trace.events()) {
    const std::string kind = e.value("event", "");
    if (kind == "hostpath_risk" || kind == "mntns_copy" || kind == "leak" || kind == "busy") out += e.dump() + "\n";
  }
  return out.empty() ? "no findings; events: " + trace.describe() : out;
}

// A container dockerd no longer knows, named from its shim and cgroup: id
// and pod uid (its cgroup), runtime and shim (the shim's command line), and
// the hint to stop it rather than restart a pod.
void expect_orphan(const nlohmann::json& holder, const DockerContainer& c, pid_t shim) {
  ASSERT_TRUE(holder["container"].is_object()) << holder.dump(2);
  const auto& container = holder["container"];
  EXPECT_EQ(container.value("id", ""), c.id);
  EXPECT_EQ(container.value("runtime", ""), "docker");
  EXPECT_TRUE(container["name"].is_null()) << holder.dump(2);
  EXPECT_EQ(container.value("unknown_to_runtime", false), true) << holder.dump(2);
  EXPECT_EQ(container.value("shim_pid", 0), shim);
  EXPECT_EQ(container.value("init_pid", 0), c.pid);
  ASSERT_TRUE(holder["pod"].is_object()) << holder.dump(2);
  EXPECT_EQ(holder["pod"].value("uid", ""), c.pod.uid);
  EXPECT_NE(holder.value("note", "").find("docker has no record of this container, yet its shim (pid " +
                                          std::to_string(shim) + ") runs it"),
            std::string::npos)
      << holder.dump(2);
  const std::string hint = holder.value("hint", "");
  EXPECT_EQ(hint.rfind("stop container " + c.id.substr(0, 12) + ", which docker has no record of but its shim (pid " +
                           std::to_string(shim) + ") still runs",
                       0),
            0u)
      << hint;
  EXPECT_NE(hint.find("kill -KILL " + std::to_string(c.pid) + ", its first process"), std::string::npos) << hint;
  EXPECT_EQ(hint.find("restart container"), std::string::npos) << hint;
}

// The suite is named for the helper it puts to work.
class DockerdRuntime : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
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

  void start_dockerd(const DockerdOptions& options = {}) {
    auto rt = ::mountleak::testing::DockerdRuntime::start(node_->tmp_dir() + "/dockerd", node_->unique_name() + "-dockerd", options);
    ASSERT_TRUE(rt) << rt.error().message;
    runtime_ = std::move(*rt);
    for (const auto& what : runtime_->swept_stale()) std::printf("swept from a run killed earlier: %s\n", what.c_str());
    auto imported = runtime_->import_busybox(kImage);
    ASSERT_TRUE(imported) << imported.error().message;
  }

  // The seed node's options, with the real daemon's data root as
  // --docker-root.
  std::vector<std::string> mountleak_args() const {
    std::vector<std::string> args = node_->cli_args();
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] == "--docker-root") args[i + 1] = runtime_->data_root();
    return args;
  }

  // `docker run -d` as dockershim did for a log collector with the kubelet
  // root as a hostPath volume; `propagation` is "" (no mountPropagation:
  // docker's rprivate) or "rslave" (HostToContainer).
  std::optional<DockerContainer> run_collector(const std::string& name, const std::string& propagation) {
    DockerContainer c;
    c.name = name;
    c.pod = {"kube-system", name + "-x7k2p", random_uid()};
    const std::string bind =
        node_->kubelet_root() + ":/var/lib/kubelet" + (propagation.empty() ? "" : ":" + propagation);
    DockerResult r = runtime_->docker(
        {"run", "--detach", "--network=none",
         "--name=k8s_" + name + "_" + c.pod.name + "_" + c.pod.namespace_name + "_" + c.pod.uid + "_0",
         "--label=io.kubernetes.pod.name=" + c.pod.name, "--label=io.kubernetes.pod.namespace=" + c.pod.namespace_name,
         "--label=io.kubernetes.pod.uid=" + c.pod.uid, "--label=io.kubernetes.container.name=" + name,
         "--label=io.kubernetes.docker.type=container",
         "--cgroup-parent=/" + runtime_->cgroup_parent() + "/kubepods/burstable/pod" + c.pod.uid, "--volume=" + bind,
         kImage, "/bin/sleep", "100000"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    if (r.exit_code != 0) return std::nullopt;
    c.id = r.out.substr(0, r.out.find('\n'));
    DockerResult pid = runtime_->docker({"inspect", "--format={{.State.Pid}}", c.id});
    EXPECT_EQ(pid.exit_code, 0) << pid.err;
    if (pid.exit_code != 0) return std::nullopt;
    c.pid = std::stoi(pid.out);
    return c;
  }

  void kubelet_unmounts() {
    ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  }

  std::optional<nlohmann::json> scan_device() {
    RunResult r = run_mountleak(with({"scan", "--all", "--output=json"}, mountleak_args()));
    EXPECT_EQ(r.exit_code, 1) << r.err << r.out;
    for (const auto& line : r.json_lines())
      if (line.value("event", "") == "holders" && line["device"].value("minor", ~0u) == node_->dev_id().minor)
        return line;
    ADD_FAILURE() << "no holders of " << node_->device_path() << ": " << r.out << r.err;
    return std::nullopt;
  }

  void start_trace() {
    trace_ = std::make_unique<TraceProcess>(mountleak_args());
    ASSERT_TRUE(trace_->started());
    ASSERT_TRUE(trace_->wait_for_event("ready", 20s)) << "no ready event; stderr: " << trace_->stderr_text();
  }
  std::optional<nlohmann::json> wait_naming(const std::string& kind, const DockerContainer& c,
                                            const std::function<bool(const nlohmann::json&)>& also = {}) {
    return trace_->wait_for([&](const nlohmann::json& e) { return names(e, kind, c) && (!also || also(e)); },
                            kFindingTimeout);
  }

  std::unique_ptr<fixture::SeedNode> node_;
  std::unique_ptr<::mountleak::testing::DockerdRuntime> runtime_;
  std::unique_ptr<TraceProcess> trace_;
};

TEST_F(DockerdRuntime, ScanNamesThePrivateCollectorAndNotTheHostToContainerOne) {
  start_dockerd();
  auto leaky = run_collector("fluentd", "");
  ASSERT_TRUE(leaky);
  auto slave = run_collector("fluent-bit", "rslave");
  ASSERT_TRUE(slave);
  kubelet_unmounts();

  auto found = scan_device();
  ASSERT_TRUE(found);
  EXPECT_TRUE((*found)["leaked"].get<bool>()) << found->dump(2);
  ASSERT_EQ((*found)["holders"].size(), 1u) << found->dump(2);
  const auto& holder = (*found)["holders"][0];
  EXPECT_EQ(holder["role"], "leak");
  expect_names(holder, *leaky);
  EXPECT_NE(std::find(holder["pids"].begin(), holder["pids"].end(), leaky->pid), holder["pids"].end()) << holder.dump();
  // How it got there, from docker's own record of the bind.
  EXPECT_EQ(holder["via"], node_->kubelet_root() + " bound into the container at /var/lib/kubelet with private propagation")
      << holder.dump();
  const std::string hint = holder.value("hint", "");
  EXPECT_NE(hint.find("restart container fluentd (pod kube-system/" + leaky->pod.name + ")"), std::string::npos) << hint;
  EXPECT_NE(hint.find("mountPropagation: HostToContainer"), std::string::npos) << hint;
  EXPECT_TRUE(holders_of_container(*found, slave->id).empty()) << found->dump(2);
}

TEST_F(DockerdRuntime, TraceNamesRiskBusyAndLeakForThePrivateCollectorOnly) {
  start_dockerd();
  start_trace();
  auto slave = run_collector("fluent-bit", "rslave");
  ASSERT_TRUE(slave);
  auto leaky = run_collector("fluentd", "");
  ASSERT_TRUE(leaky);

  auto risk = wait_naming("hostpath_risk", *leaky);
  ASSERT_TRUE(risk) << findings_of(*trace_);
  expect_names(holders_of_container(*risk, leaky->id)[0], *leaky);
  EXPECT_EQ((*risk)["bind"]["propagation"], "private") << risk->dump();
  EXPECT_EQ((*risk)["bind"]["source"], node_->kubelet_root()) << risk->dump();
  // runc binds before pivot_root: judged before it, the target is in the
  // container's rootfs as the runtime's namespace names it
  // (overlay2/<id>/merged/...); once the namespace has settled (the trace
  // re-reads it 50 ms after its last event), as the container sees it.
  const std::string target = (*risk)["bind"].value("mountpoint", "");
  EXPECT_TRUE(target == "/var/lib/kubelet" || target.ends_with("/merged/var/lib/kubelet")) << risk->dump();

  // rbd unmap's exclusive open, while the host still has it mounted.
  int fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL);
  const int open_errno = errno;
  if (fd >= 0) close(fd);
  ASSERT_EQ(fd, -1);
  ASSERT_EQ(open_errno, EBUSY);
  auto busy = wait_naming("busy", *leaky, [](const nlohmann::json& e) { return e["source"] == "open_excl"; });
  ASSERT_TRUE(busy) << findings_of(*trace_);
  EXPECT_EQ((*busy)["process"]["pid"], getpid());
  expect_names(holders_of_container(*busy, leaky->id)[0], *leaky);

  // umount2 of the global mount with a file open on it.
  const std::string file = node_->global_mount_path() + "/busy-file";
  int open_file = open(file.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  ASSERT_GE(open_file, 0);
  const int umounted = umount2(node_->global_mount_path().c_str(), 0);
  const int umount_errno = errno;
  close(open_file);
  ASSERT_EQ(umounted, -1);
  ASSERT_EQ(umount_errno, EBUSY);
  auto umount_busy = wait_naming("busy", *leaky, [](const nlohmann::json& e) { return e["source"] == "umount"; });
  ASSERT_TRUE(umount_busy) << findings_of(*trace_);
  expect_names(holders_of_container(*umount_busy, leaky->id)[0], *leaky);

  kubelet_unmounts();
  auto leak = wait_naming("leak", *leaky);
  ASSERT_TRUE(leak) << findings_of(*trace_);
  ASSERT_EQ((*leak)["holders"].size(), 1u) << leak->dump(2);
  EXPECT_EQ((*leak)["holders"][0]["role"], "leak");
  expect_names((*leak)["holders"][0], *leaky);

  EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
  for (const auto& e : trace_->events()) {
    for (const char* kind : {"hostpath_risk", "mntns_copy", "leak"}) EXPECT_FALSE(names(e, kind, *slave)) << e.dump();
    // A busy event lists every namespace holding the device, the rslave
    // copy too, as the follower it is.
    if (e.value("event", "") == "busy") {
      for (const auto& h : holders_of_container(e, slave->id)) {
        EXPECT_EQ(h["role"], "follower") << e.dump();
      }
    }
  }
}

TEST_F(DockerdRuntime, ReleaseFreesTheDeviceWhileThePrivateCollectorRuns) {
  start_dockerd();
  auto leaky = run_collector("fluentd", "");
  ASSERT_TRUE(leaky);
  auto slave = run_collector("fluent-bit", "rslave");
  ASSERT_TRUE(slave);
  kubelet_unmounts();
  ASSERT_EQ(exclusive_open_error(node_->device_path()), EBUSY);
  ASSERT_GT(mounts_of_device(leaky->pid, node_->dev_id()), 0);

  RunResult r =
      run_mountleak(with({"release", "--device", node_->device_path(), "--yes", "-o", "json"}, mountleak_args()));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  std::vector<nlohmann::json> done;
  for (const auto& line : r.json_lines()) {
    if (line.value("event", "") != "release") continue;
    if (line["container"].is_object() && line["container"].value("id", "") == slave->id) {
      EXPECT_EQ(line["action"], "kept") << line.dump(2);
    }
    if (line.value("role", "") == "leak") done.push_back(line);
  }
  ASSERT_EQ(done.size(), 1u) << r.out;
  EXPECT_EQ(done[0]["action"], "done") << done[0].dump(2);
  expect_names(done[0], *leaky);

  EXPECT_EQ(exclusive_open_error(node_->device_path()), 0) << "the device is still busy";
  EXPECT_EQ(mounts_of_device(leaky->pid, node_->dev_id()), 0);
  // Neither collector was restarted: both run with their first processes.
  for (const auto& c : {*leaky, *slave}) {
    DockerResult state = runtime_->docker({"inspect", "--format={{.State.Running}} {{.State.Pid}}", c.id});
    EXPECT_EQ(state.out, "true " + std::to_string(c.pid) + "\n") << state.err;
  }
}

TEST_F(DockerdRuntime, LiveRestoreOrphanIsNamedByItsShimAndCgroup) {
  start_dockerd({.live_restore = true});
  auto orphan = run_collector("fluentd", "");
  ASSERT_TRUE(orphan);
  // dockerd goes (its containerd with it); the container stays, under its shim.
  ASSERT_TRUE(runtime_->stop_daemon());
  ASSERT_EQ(kill(orphan->pid, 0), 0) << "the container did not outlive dockerd";
  pid_t shim = -1;
  for (pid_t p : pids_with_cmdline_containing("-id " + orphan->id)) shim = p;
  ASSERT_GT(shim, 0) << "no shim serves " << orphan->id;
  // ... and its record goes, as when dockerd restarted around a changed
  // --live-restore and did not restore it.
  std::error_code ec;
  ASSERT_TRUE(fs::remove_all(runtime_->data_root() + "/containers/" + orphan->id, ec) > 0) << ec.message();

  start_trace();
  kubelet_unmounts();
  auto leak = wait_naming("leak", *orphan);
  ASSERT_TRUE(leak) << findings_of(*trace_);
  ASSERT_EQ((*leak)["holders"].size(), 1u) << leak->dump(2);
  expect_orphan((*leak)["holders"][0], *orphan, shim);

  auto found = scan_device();
  ASSERT_TRUE(found);
  ASSERT_EQ((*found)["holders"].size(), 1u) << found->dump(2);
  EXPECT_EQ((*found)["holders"][0]["role"], "leak");
  expect_orphan((*found)["holders"][0], *orphan, shim);

  // What the hint says: its first process killed, the device is free (the
  // exclusive open rbd unmap makes succeeds); then the shim, which stays.
  ASSERT_EQ(kill(orphan->pid, SIGKILL), 0);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  int fd = -1;
  while ((fd = open(node_->device_path().c_str(), O_RDONLY | O_EXCL | O_CLOEXEC)) < 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  EXPECT_GE(fd, 0) << "the device is still busy: " << strerror(errno);
  if (fd >= 0) close(fd);
  EXPECT_EQ(kill(shim, 0), 0) << "the shim went by itself; the hint says to kill it";
  EXPECT_EQ(kill(shim, SIGKILL), 0);
}

}  // namespace
}  // namespace mountleak::testing

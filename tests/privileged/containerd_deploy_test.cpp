// SPDX-License-Identifier: Apache-2.0
// deploy/daemonset.yaml's container under a real runtime: Debian's
// containerd 1.6 and runc, started by the test (containerd_runtime.h), run
// the container's command with the manifest's capabilities (drop ALL, add
// the named ones), its hostPID, its hostPath mounts (the node's / read-only
// at /host, rslave for HostToContainer), its read-only root, no new
// privileges, its seccomp profile and its memory limit, all read from the
// parsed manifest. On the seed node with a leaking log collector:
//   - the runtime really gives the container exactly the named capabilities;
//   - `scan --all --host-root /host` in the container finds the same holders
//     as the same scan run on the host;
//   - the DaemonSet's own `trace` arguments attach, name the leak when the
//     kubelet unmounts, list only the collector (the agent's namespace, a
//     HostToContainer copy, holds nothing), write the rotated log to the
//     hostPath, and stay within the manifest's memory request.

#include <sys/capability.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "containerd_runtime.h"
#include "deploy/cli_options.h"
#include "deploy/daemonset_manifest.h"
#include "mountleak_process.h"
#include "seed_test_support.h"
#include "util/capabilities.h"

namespace mountleak::testing {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using deploy::AgentMount;
using deploy::DaemonSetManifest;

std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<nlohmann::json> json_lines_of(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(j);
  }
  return out;
}

// The capabilities the manifest grants, by libcap's name ("cap_sys_admin").
std::set<std::string> manifest_capabilities(const DaemonSetManifest& m) {
  std::set<std::string> out;
  for (const auto& cap : m.container.capabilities_add) out.insert(deploy::kubernetes_capability_to_linux(cap));
  return out;
}

// A capability set from /proc/PID/status ("CapBnd:\t00000000a80425fb").
std::set<std::string> capabilities_in_status(const std::string& status, const std::string& field) {
  std::set<std::string> out;
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field + ":", 0) != 0) continue;
    const unsigned long long mask = std::stoull(line.substr(field.size() + 1), nullptr, 16);
    for (int bit = 0; bit < 64; ++bit)
      if (mask & (1ULL << bit)) out.insert(capability_name(bit));
  }
  return out;
}

// What Kubernetes' mountPropagation is to the OCI runtime.
std::string propagation_option(const std::string& k8s) {
  if (k8s == "HostToContainer") return "rslave";
  if (k8s == "Bidirectional") return "rshared";
  return "rprivate";
}

// The container's host side: the node's / and /sys are this test's own
// (read-only in the manifest); a writable hostPath (the log's directory)
// is moved under `node_dir`, so the test writes nothing on the real node.
std::string host_source(const AgentMount& m, const std::string& node_dir) {
  if (m.host_path == "/" || m.host_path.rfind("/sys/", 0) == 0) return m.host_path;
  return node_dir + m.host_path;
}

// `ctr run` options that give the container what the manifest gives it.
Result<std::vector<std::string>> ctr_options(const DaemonSetManifest& m, const std::string& node_dir) {
  std::vector<std::string> opts;
  const YAML::Node sc = m.container.node["securityContext"];
  if (m.pod_spec["hostPID"] && m.pod_spec["hostPID"].as<bool>())
    opts.push_back("--with-ns=pid:/proc/" + std::to_string(getpid()) + "/ns/pid");
  // ctr sets no_new_privs unless told otherwise, as allowPrivilegeEscalation: false does.
  if (!sc["allowPrivilegeEscalation"] || sc["allowPrivilegeEscalation"].as<bool>()) opts.push_back("--allow-new-privs");
  if (sc["readOnlyRootFilesystem"] && sc["readOnlyRootFilesystem"].as<bool>()) opts.push_back("--read-only");
  if (sc["privileged"] && sc["privileged"].as<bool>()) opts.push_back("--privileged");
  // RuntimeDefault is containerd's built-in profile, which ctr applies with --seccomp.
  const YAML::Node seccomp = sc["seccompProfile"]["type"];
  if (seccomp && seccomp.as<std::string>() == "RuntimeDefault") opts.push_back("--seccomp");
  else if (seccomp && seccomp.as<std::string>() != "Unconfined")
    return Error{"seccompProfile " + seccomp.as<std::string>() + ": the test knows RuntimeDefault and Unconfined", EINVAL};

  // drop: ["ALL"] is every capability this kernel has that is not added
  // (ctr takes no ALL).
  const std::set<std::string> added = manifest_capabilities(m);
  for (const auto& cap : added) opts.push_back("--cap-add=" + upper(cap));
  const auto& drop = m.container.capabilities_drop;
  if (std::find(drop.begin(), drop.end(), "ALL") != drop.end()) {
    for (int bit = 0; bit < static_cast<int>(cap_max_bits()); ++bit)
      if (!added.count(capability_name(bit))) opts.push_back("--cap-drop=" + upper(capability_name(bit)));
  } else {
    for (const auto& cap : drop) opts.push_back("--cap-drop=" + upper(deploy::kubernetes_capability_to_linux(cap)));
  }

  const YAML::Node limit = m.container.node["resources"]["limits"]["memory"];
  if (limit) {
    auto bytes = deploy::memory_quantity_bytes(limit.as<std::string>());
    if (!bytes) return Error{"limits.memory is not a quantity: " + limit.as<std::string>(), EINVAL};
    opts.push_back("--memory-limit=" + std::to_string(*bytes));
  }

  for (const auto& mount : m.container.mounts) {
    if (mount.host_path.empty()) return Error{"volume " + mount.volume + " is not a hostPath; the test knows only those", EINVAL};
    const std::string src = host_source(mount, node_dir);
    std::error_code ec;
    if (src.rfind(node_dir, 0) == 0) fs::create_directories(src, ec);
    std::string options = "rbind";
    if (mount.read_only) options += ":ro";
    options += ":" + propagation_option(mount.propagation);
    opts.push_back("--mount=type=bind,src=" + src + ",dst=" + mount.mount_path + ",options=" + options);
  }
  return opts;
}

// One holder as both runs must name it.
struct HolderView {
  std::string role, container, pod_uid, mountpoint;
  std::vector<int> pids;
  auto operator<=>(const HolderView&) const = default;
};

std::ostream& operator<<(std::ostream& os, const HolderView& h) {
  os << "{" << h.role << " " << h.container << " pod " << h.pod_uid << " at " << h.mountpoint << " pids";
  for (int p : h.pids) os << " " << p;
  return os << "}";
}

std::vector<HolderView> holder_views(const nlohmann::json& device) {
  std::vector<HolderView> out;
  for (const auto& h : device.value("holders", nlohmann::json::array())) {
    HolderView v;
    v.role = h.value("role", "");
    if (h["container"].is_object()) v.container = h["container"].value("id", "");
    if (h["pod"].is_object()) v.pod_uid = h["pod"].value("uid", "");
    v.mountpoint = h["mountpoint"].is_string() ? h["mountpoint"].get<std::string>() : "";
    if (h["pids"].is_array()) v.pids = h["pids"].get<std::vector<int>>();
    std::sort(v.pids.begin(), v.pids.end());
    out.push_back(v);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ContainerdDeploy : public ::testing::Test {
 protected:
  void SetUp() override {
    auto manifest = deploy::load_daemonset(deploy::deploy_dir() + "/daemonset.yaml");
    ASSERT_TRUE(manifest) << manifest.error().message;
    manifest_ = std::move(*manifest);
    ASSERT_FALSE(manifest_.container.command.empty());
    host_root_ = deploy::option_value(manifest_.container.args, {"--host-root"}).value_or("/");

    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
    fixture::ContainerSpec spec;
    spec.kind = fixture::ContainerKind::kLogCollectorPrivate;
    auto collector = node_->start_container(spec);
    ASSERT_TRUE(collector) << collector.error().message;
    collector_ = *collector;

    node_dir_ = node_->tmp_dir() + "/agent-node";
    rootfs_ = node_->tmp_dir() + "/agent-rootfs";
    auto built = build_rootfs(rootfs_, MOUNTLEAK_BINARY, manifest_.container.command.front());
    ASSERT_TRUE(built) << built.error().message;
    for (const auto& m : manifest_.container.mounts) fs::create_directories(rootfs_ + m.mount_path);
    auto opts = ctr_options(manifest_, node_dir_);
    ASSERT_TRUE(opts) << opts.error().message;
    options_ = std::move(*opts);

    auto rt = ContainerdRuntime::start(node_->tmp_dir() + "/containerd", node_->unique_name() + "-agent");
    ASSERT_TRUE(rt) << rt.error().message;
    runtime_ = std::move(*rt);
    for (const auto& what : runtime_->swept_stale()) std::printf("swept from a run killed earlier: %s\n", what.c_str());
  }

  void TearDown() override {
    if (runtime_) {
      runtime_->stop();
      EXPECT_TRUE(runtime_->stop_errors().empty()) << ::testing::PrintToString(runtime_->stop_errors());
    }
    if (node_) {
      node_->teardown();
      EXPECT_TRUE(node_->teardown_errors().empty()) << ::testing::PrintToString(node_->teardown_errors());
    }
  }

  // The seed node's options as the container sees the node: under the
  // host root.
  std::vector<std::string> node_args_in_container() const {
    std::vector<std::string> args = node_->cli_args();
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] != "--devices" && args[i] != "--host-mntns" && args[i].rfind("--", 0) == 0)
        args[i + 1] = host_root_ + args[i + 1];
    return args;
  }
  std::vector<std::string> container_command(const std::vector<std::string>& args) const {
    return with(manifest_.container.command, args);
  }
  std::optional<nlohmann::json> device_object(const std::vector<nlohmann::json>& lines,
                                              const std::string& event) const {
    for (const auto& line : lines)
      if (line.value("event", "") == event && line["device"].is_object() &&
          line["device"].value("major", 0u) == node_->dev_id().major &&
          line["device"].value("minor", 0u) == node_->dev_id().minor)
        return line;
    return std::nullopt;
  }
  void kubelet_unmounts() {
    ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
    ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  }

  DaemonSetManifest manifest_;
  std::string host_root_;
  std::unique_ptr<fixture::SeedNode> node_;
  fixture::Container* collector_ = nullptr;
  std::string node_dir_, rootfs_;
  std::vector<std::string> options_;
  std::unique_ptr<ContainerdRuntime> runtime_;
};

TEST_F(ContainerdDeploy, TheRuntimeGivesExactlyTheNamedCapabilities) {
  CtrResult r = runtime_->run("caps", rootfs_, options_, {"/bin/busybox", "cat", "/proc/self/status"}, 60s);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::set<std::string> named = manifest_capabilities(manifest_);
  EXPECT_EQ(capabilities_in_status(r.out, "CapBnd"), named) << r.out;
  EXPECT_EQ(capabilities_in_status(r.out, "CapEff"), named) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
}

TEST_F(ContainerdDeploy, ScanInTheDaemonSetsContainerFindsTheHostsHolders) {
  kubelet_unmounts();
  const std::vector<std::string> scan = {"scan", "--all", "--output=json"};

  RunResult host = run_mountleak(with(scan, node_->cli_args()));
  ASSERT_EQ(host.exit_code, 1) << host.err;
  auto on_host = device_object(host.json_lines(), "holders");
  ASSERT_TRUE(on_host) << host.out;

  CtrResult in = runtime_->run(
      "scan", rootfs_, options_,
      container_command(with(with(scan, {"--host-root=" + host_root_}), node_args_in_container())), 120s);
  ASSERT_EQ(in.exit_code, 1) << in.err << in.out;
  auto in_container = device_object(json_lines_of(in.out), "holders");
  ASSERT_TRUE(in_container) << in.out;

  EXPECT_TRUE((*in_container)["leaked"].get<bool>());
  EXPECT_EQ(holder_views(*in_container), holder_views(*on_host)) << in_container->dump(2) << "\n" << on_host->dump(2);
  auto held = holders_of_container(*in_container, collector_->id);
  ASSERT_EQ(held.size(), 1u) << in_container->dump(2);
  EXPECT_EQ(held.front()["role"], "leak");
  EXPECT_EQ(held.front()["pod"]["name"], collector_->pod.name);
}

TEST_F(ContainerdDeploy, TraceWithTheDaemonSetsArgumentsNamesTheLeak) {
  const std::string out = node_->tmp_dir() + "/trace.out";
  const std::string err = node_->tmp_dir() + "/trace.err";
  // The manifest's arguments as they are; the test adds only the seed
  // node's paths and a time limit in case it is never stopped.
  std::vector<std::string> args = with(with(manifest_.container.args, node_args_in_container()), {"--duration=120"});
  auto ctr = runtime_->start_run("trace", rootfs_, options_, container_command(args), out, err);
  ASSERT_TRUE(ctr) << ctr.error().message;

  // Until a line matches, trace (ctr) ends, or the deadline passes.
  int ended_with = -1;
  bool ended = false;
  auto wait_for_line = [&](const std::function<bool(const nlohmann::json&)>& match, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      const bool last_look = ended || (ended = runtime_->ended(*ctr, ended_with));
      for (const auto& line : json_lines_of(read_text(out)))
        if (match(line)) return std::optional<nlohmann::json>(line);
      if (last_look) break;
      std::this_thread::sleep_for(100ms);
    }
    return std::optional<nlohmann::json>();
  };
  auto ready = wait_for_line([](const nlohmann::json& j) { return j.value("event", "") == "ready"; }, 90s);
  ASSERT_TRUE(ready) << (ended ? "trace ended (" + std::to_string(ended_with) + "): " : "") << read_text(err)
                     << read_text(out);
  std::vector<std::string> kept;
  for (const auto& k : trace_keeps()) kept.push_back(capability_name(k.capability));
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ((*ready)["capabilities"].get<std::vector<std::string>>(), kept);
  EXPECT_EQ((*ready)["host_view"]["host_root"], host_root_);

  kubelet_unmounts();
  auto leak = wait_for_line(
      [&](const nlohmann::json& j) {
        return j.value("event", "") == "leak" && j["device"].is_object() &&
               j["device"].value("minor", 0u) == node_->dev_id().minor;
      },
      30s);
  ASSERT_TRUE(leak) << (ended ? "trace ended (" + std::to_string(ended_with) + "): " : "") << read_text(err)
                    << read_text(out);
  // Only the collector: neither the agent's own namespace (HostToContainer)
  // nor containerd's holds a copy.
  ASSERT_EQ((*leak)["holders"].size(), 1u) << leak->dump(2);
  EXPECT_EQ((*leak)["holders"][0]["container"]["id"], collector_->id);

  // The same holders as a scan on the host now.
  RunResult host = run_mountleak(with({"scan", "--all", "--output=json"}, node_->cli_args()));
  auto on_host = device_object(host.json_lines(), "holders");
  ASSERT_TRUE(on_host) << host.out;
  EXPECT_EQ(holder_views(*leak), holder_views(*on_host));

  // The footprint the manifest's request is sized for (README.md, "Deploying").
  CtrResult tasks = runtime_->ctr({"tasks", "ls"});
  pid_t trace_pid = -1;
  std::istringstream rows(tasks.out);
  for (std::string row; std::getline(rows, row);) {
    std::istringstream cols(row);
    std::string id;
    pid_t pid = -1;
    if (cols >> id >> pid && id == "trace") trace_pid = pid;
  }
  ASSERT_GT(trace_pid, 0) << tasks.out << tasks.err;
  const std::string status = read_text("/proc/" + std::to_string(trace_pid) + "/status");
  unsigned long long hwm_kib = 0;
  if (auto at = status.find("VmHWM:"); at != std::string::npos) hwm_kib = std::stoull(status.substr(at + 6));
  ASSERT_GT(hwm_kib, 0u) << status;
  RecordProperty("trace_vmhwm_kib", std::to_string(hwm_kib));
  std::printf("trace in the DaemonSet's container: VmHWM %llu KiB\n", hwm_kib);
  auto request = deploy::memory_quantity_bytes(manifest_.container.node["resources"]["requests"]["memory"].as<std::string>());
  ASSERT_TRUE(request);
  EXPECT_LE(hwm_kib * 1024, *request);

  CtrResult term = runtime_->ctr({"tasks", "kill", "-s", "SIGTERM", "trace"});
  EXPECT_EQ(term.exit_code, 0) << term.err;
  ASSERT_FALSE(ended) << "trace ended before it was stopped (" << ended_with << "): " << read_text(err);
  EXPECT_EQ(runtime_->wait_for(*ctr, 30s), 0) << read_text(err);

  // The log went to the hostPath, mode 0600, with the finding in it.
  auto log = deploy::option_value(manifest_.container.args, {"--log"});
  ASSERT_TRUE(log);
  const std::string on_node = node_dir_ + *log;
  struct stat st {};
  ASSERT_EQ(stat(on_node.c_str(), &st), 0) << on_node;
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(device_object(json_lines_of(read_text(on_node)), "leak")) << read_text(on_node);
}

}  // namespace
}  // namespace mountleak::testing

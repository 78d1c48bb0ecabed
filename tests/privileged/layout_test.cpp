// SPDX-License-Identifier: Apache-2.0
// The seed scenarios on the node layouts real nodes have: the whole node on
// a tmpfs (a tmpfs /tmp), the kubelet root on a disk of its own, behind a
// symlink, or a bind of another directory; and mountleak itself in a
// container of its own with the node at /host (--host-root). On every one,
// findings name the kubelet root as the host sees it.

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "fixture/agent_container.h"
#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;
using fixture::KubeletLayout;

struct LayoutCase {
  KubeletLayout layout;
  bool in_agent_container;  // mountleak in its own root, the node at /host
  // --kubelet-root names <tmp>/data/kubelet, the directory a symlinked or
  // bound kubelet root really is, instead of the kubelet's own spelling.
  bool names_target = false;
};

// Keeps ctest's test names readable ("... # GetParam() = agent_symlink").
std::string describe(const LayoutCase& c) {
  return std::string(c.in_agent_container ? "agent_" : "") + fixture::to_string(c.layout) +
         (c.names_target ? "_named_by_target" : "");
}
void PrintTo(const LayoutCase& c, std::ostream* os) { *os << describe(c); }

std::string case_name(const ::testing::TestParamInfo<LayoutCase>& info) { return describe(info.param); }

class NodeLayout : public ::testing::TestWithParam<LayoutCase> {
 protected:
  void SetUp() override {
    fixture::SeedOptions options;
    options.layout = GetParam().layout;
    auto node = fixture::SeedNode::create(options);
    ASSERT_TRUE(node) << node.error().message;
    node_ = std::move(*node);
    if (GetParam().in_agent_container) {
      agent_root_ = node_->tmp_dir() + "/agent-root";
      ASSERT_EQ(mkdir(agent_root_.c_str(), 0755), 0);
    }
  }
  void TearDown() override {
    if (trace_) {
      EXPECT_EQ(trace_->stop(), 0) << trace_->stderr_text();
      trace_.reset();
    }
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }

  fixture::Container* start(ContainerKind kind) {
    fixture::ContainerSpec spec;
    spec.kind = kind;
    auto c = node_->start_container(spec);
    if (!c) ADD_FAILURE() << "container: " << c.error().message;
    return c ? *c : nullptr;
  }

  // The node's options, as the agent container sees the node: every path
  // under /host.
  std::vector<std::string> node_args() const {
    std::vector<std::string> args = node_->cli_args();
    if (GetParam().names_target) args[std::find(args.begin(), args.end(), "--kubelet-root") - args.begin() + 1] = target();
    if (!GetParam().in_agent_container) return args;
    for (size_t i = 0; i + 1 < args.size(); ++i)
      if (args[i] != "--devices" && args[i] != "--host-mntns" && args[i].rfind("--", 0) == 0)
        args[i + 1] = fixture::kAgentHostMount + args[i + 1];
    args.insert(args.end(), {"--host-root", fixture::kAgentHostMount});
    return args;
  }
  Launch launch() const {
    Launch l;
    if (!GetParam().in_agent_container) return l;
    l.binary = fixture::kAgentBinary;
    l.enter = [root = agent_root_] { return fixture::enter_agent_container(root, MOUNTLEAK_BINARY); };
    return l;
  }
  std::string target() const { return node_->tmp_dir() + "/data/kubelet"; }
  std::string expected_host_root() const { return GetParam().in_agent_container ? fixture::kAgentHostMount : "/"; }

  // The host_view section of ready and scan_summary.
  void expect_host_view(const nlohmann::json& view) const {
    ASSERT_TRUE(view.is_object()) << view.dump();
    EXPECT_EQ(view["host_root"], expected_host_root()) << view.dump();
    EXPECT_EQ(view["kubelet_root"]["host_path"], GetParam().names_target ? target() : node_->kubelet_host_path())
        << view.dump();
    auto seen = view["kubelet_root"]["seen_as"].get<std::vector<std::string>>();
    const std::string spelled = GetParam().names_target ? target() : node_->kubelet_root();
    EXPECT_NE(std::find(seen.begin(), seen.end(), spelled), seen.end()) << view.dump();
    if (GetParam().in_agent_container) {
      EXPECT_NE(view["paths"].get<std::string>().find("without the /host prefix"), std::string::npos);
    }
  }

  std::optional<nlohmann::json> device_object(const RunResult& r) const {
    for (const auto& line : r.json_lines())
      if (line.value("event", "") == "holders" && line["device"].value("major", 0u) == node_->dev_id().major &&
          line["device"].value("minor", 0u) == node_->dev_id().minor)
        return line;
    return std::nullopt;
  }
  RunResult scan(const std::vector<std::string>& args) const {
    return run_mountleak(with(with({"scan", "-o", "json"}, args), node_args()), 60s, launch());
  }

  std::unique_ptr<fixture::SeedNode> node_;
  std::unique_ptr<TraceProcess> trace_;
  std::string agent_root_;
};

TEST_P(NodeLayout, TraceNamesTheKubeletRootAsTheHostSeesIt) {
  trace_ = std::make_unique<TraceProcess>(node_args(), launch());
  ASSERT_TRUE(trace_->started());
  auto ready = trace_->wait_for_event("ready", 20s);
  ASSERT_TRUE(ready) << "no ready event; stderr: " << trace_->stderr_text();
  expect_host_view((*ready)["host_view"]);

  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  auto names = [&](const nlohmann::json& e, const std::string& kind) {
    return e.value("event", "") == kind && !holders_of_container(e, collector->id).empty();
  };
  auto risk = trace_->wait_for([&](const nlohmann::json& e) { return names(e, "hostpath_risk"); }, 10s);
  ASSERT_TRUE(risk) << trace_->describe() << trace_->stderr_text();
  const nlohmann::json& bind = (*risk)["bind"];
  EXPECT_EQ(bind["source"], node_->kubelet_host_path()) << risk->dump();
  EXPECT_EQ(bind["kubelet_root"], true) << risk->dump();
  EXPECT_EQ(bind["mountpoint"], "/var/lib/kubelet") << risk->dump();
  EXPECT_EQ(bind["propagation"], "private") << risk->dump();
  expect_names(holders_of_container(*risk, collector->id)[0], *collector, "containerd");

  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  auto leak = trace_->wait_for([&](const nlohmann::json& e) { return names(e, "leak"); }, 10s);
  ASSERT_TRUE(leak) << trace_->describe();
  auto held = holders_of_container(*leak, collector->id);
  ASSERT_EQ(held.size(), 1u) << leak->dump(2);
  EXPECT_EQ(held[0]["role"], "leak");
  EXPECT_EQ((*leak)["unmounted_by"]["pid"], getpid()) << leak->dump();
}

TEST_P(NodeLayout, ScanNamesOwnerAndLeakByTheKubeletRootsIdentity) {
  fixture::Container* owner = start(ContainerKind::kVolumeOwner);
  ASSERT_NE(owner, nullptr);
  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  // A host process with a file of the volume open.
  int open_file = open(node_->data_file_path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(open_file, 0);
  std::unique_ptr<int, void (*)(int*)> closer(&open_file, [](int* fd) { close(*fd); });

  // The pod volume is recognised under whichever name the host mounted it:
  // the owner pod is the owner, the collector the leak.
  RunResult r = scan({"--device", node_->device_path()});
  ASSERT_EQ(r.exit_code, 1) << r.err << r.out;
  auto device = device_object(r);
  ASSERT_TRUE(device) << r.out;
  auto owned = holders_of_container(*device, owner->id);
  ASSERT_EQ(owned.size(), 1u) << device->dump(2);
  EXPECT_EQ(owned[0]["role"], "owner") << device->dump(2);
  auto leaked = holders_of_container(*device, collector->id);
  ASSERT_EQ(leaked.size(), 1u) << device->dump(2);
  EXPECT_EQ(leaked[0]["role"], "leak");
  expect_names(leaked[0], *collector, "containerd");
  expect_host_view(r.json_lines().back()["host_view"]);
  // A descriptor names the host's file, not the agent's /host view of it:
  // the kernel names a file on a mount the agent cannot reach (the host's
  // own, not the agent's copy under /host) from the host's root.
  const std::string data_file =
      node_->kubelet_host_path() + node_->data_file_path().substr(node_->kubelet_root().size());
  bool seen = false;
  for (const auto& h : (*device)["holders"])
    for (const auto& fd : h.value("fds", nlohmann::json::array()))
      if (fd["pid"] == getpid() && fd["fd"] == open_file) {
        seen = true;
        EXPECT_EQ(fd["target"], data_file) << h.dump();
      }
  EXPECT_TRUE(seen) << device->dump(2);
  closer.reset();

  // --path by the operator's spelling finds the device wherever the host
  // mounted it.
  const std::string prefix = GetParam().in_agent_container ? fixture::kAgentHostMount : "";
  RunResult by_path = scan({"--path", prefix + node_->kubelet_root() + "/pods"});
  ASSERT_EQ(by_path.exit_code, 1) << by_path.err << by_path.out;
  EXPECT_TRUE(device_object(by_path)) << by_path.out;

  ASSERT_TRUE(node_->stop_container(*owner).ok());
  ASSERT_TRUE(node_->kubelet_unmount_pod_volume().ok());
  ASSERT_TRUE(node_->kubelet_unmount_global().ok());
  RunResult after = scan({"--all"});
  ASSERT_EQ(after.exit_code, 1) << after.err;
  auto gone = device_object(after);
  ASSERT_TRUE(gone) << after.out;
  EXPECT_FALSE((*gone)["host_mounted"].get<bool>());
  ASSERT_EQ((*gone)["holders"].size(), 1u) << gone->dump(2);
  expect_names((*gone)["holders"][0], *collector, "containerd");
}

INSTANTIATE_TEST_SUITE_P(Layouts, NodeLayout,
                         ::testing::Values(LayoutCase{KubeletLayout::kTmpfs, false},
                                           LayoutCase{KubeletLayout::kOwnDisk, false},
                                           LayoutCase{KubeletLayout::kSymlink, false},
                                           LayoutCase{KubeletLayout::kBind, false},
                                           LayoutCase{KubeletLayout::kSymlink, false, true},
                                           LayoutCase{KubeletLayout::kBind, false, true},
                                           LayoutCase{KubeletLayout::kPlain, true},
                                           LayoutCase{KubeletLayout::kOwnDisk, true},
                                           LayoutCase{KubeletLayout::kSymlink, true}),
                         case_name);

// mountleak in a chroot, not told where the host is: every host path it
// read would be the chroot's. It must say so and stop before it mounts or
// loads anything.
TEST(Chroot, ScanAndTraceRefuseWithoutHostRoot) {
  auto node = make_seed_node();
  ASSERT_NE(node, nullptr);
  const std::string root = node->tmp_dir() + "/chroot";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  Launch chrooted;
  chrooted.binary = fixture::kAgentBinary;
  chrooted.enter = [root] { return fixture::enter_chroot(root, MOUNTLEAK_BINARY); };
  const std::vector<std::string> host = {"--host-mntns", std::to_string(node->host_pid())};
  for (const std::vector<std::string>& command :
       {std::vector<std::string>{"scan"}, std::vector<std::string>{"trace", "--duration", "1"}}) {
    RunResult r = run_mountleak(with(command, host), 30s, chrooted);
    EXPECT_EQ(r.exit_code, 2) << command[0] << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("chroot"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("--host-root"), std::string::npos) << r.err;
  }
  node->teardown();
  EXPECT_TRUE(node->teardown_errors().empty());
}

// This suite in the same chroot cannot make its namespace private from the
// host; it must say why and what to do instead of "Invalid argument".
TEST(Chroot, PrivilegedSuiteSaysWhyItCannotIsolateItself) {
  auto node = make_seed_node();
  ASSERT_NE(node, nullptr);
  const std::string root = node->tmp_dir() + "/chroot";
  ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(n, 0);
  const std::string suite(self, static_cast<size_t>(n));
  Launch chrooted;
  chrooted.binary = fixture::kAgentBinary;
  chrooted.enter = [root, suite] { return fixture::enter_chroot(root, suite); };
  RunResult r = run_mountleak({"--gtest_filter=SeedNodeLayout.*"}, 60s, chrooted);
  EXPECT_NE(r.exit_code, 0) << r.out << r.err;
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("/ is not a mount point"), std::string::npos) << all;
  EXPECT_NE(all.find("mount --bind DIR DIR"), std::string::npos) << all;
  EXPECT_EQ(all.find("[  PASSED  ] 1"), std::string::npos) << all;
  node->teardown();
  EXPECT_TRUE(node->teardown_errors().empty());
}

}  // namespace
}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
// `mountleak scan --risks` on the seed node: the containers that WILL leak
// are named before any volume is there to leak. A log collector binding the
// kubelet root privately is a risk with nothing mounted; the same collector
// with HostToContainer (rslave) is not, nor is an agent binding an
// unrelated directory; the kubelet root is recognised on its own disk and
// behind a symlink, and a bind of a directory above it counts.

#include <gtest/gtest.h>

#include <algorithm>

#include "mountleak_process.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using fixture::ContainerKind;
using fixture::KubeletLayout;

// The hostpath_risk lines of a scan that name container `id`.
std::vector<nlohmann::json> risks_of(const RunResult& r, const std::string& id) {
  std::vector<nlohmann::json> out;
  for (const auto& line : r.json_lines())
    if (line.value("event", "") == "hostpath_risk" && line["container"].is_object() &&
        line["container"].value("id", "") == id)
      out.push_back(line);
  return out;
}

class ScanRisks : public ::testing::TestWithParam<KubeletLayout> {
 protected:
  void SetUp() override {
    fixture::SeedOptions options;
    options.layout = GetParam();
    options.mount_volume = false;  // the risk is there before any volume is
    auto node = fixture::SeedNode::create(options);
    ASSERT_TRUE(node) << node.error().message;
    node_ = std::move(*node);
  }
  void TearDown() override {
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }
  fixture::Container* start(ContainerKind kind, const std::string& host_path = "/var/log") {
    fixture::ContainerSpec spec;
    spec.kind = kind;
    spec.host_path = host_path;
    auto c = node_->start_container(spec);
    if (!c) ADD_FAILURE() << "container: " << c.error().message;
    return c ? *c : nullptr;
  }
  RunResult scan(const std::vector<std::string>& extra = {"-o", "json"}) const {
    return run_mountleak(with(with({"scan", "--risks"}, extra), node_->cli_args()), 60s);
  }
  std::unique_ptr<fixture::SeedNode> node_;
};

TEST_P(ScanRisks, APrivateCollectorIsARiskWithNoVolumeMountedTheOthersAreNot) {
  fixture::Container* slave = start(ContainerKind::kLogCollectorSlave);
  fixture::Container* unrelated = start(ContainerKind::kHostPathPrivate, "/var/log");
  ASSERT_NE(slave, nullptr);
  ASSERT_NE(unrelated, nullptr);

  // Nothing of ours is at risk yet: exit 0.
  RunResult clean = scan();
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;
  EXPECT_TRUE(risks_of(clean, slave->id).empty()) << clean.out;
  EXPECT_TRUE(risks_of(clean, unrelated->id).empty()) << clean.out;
  ASSERT_FALSE(clean.json_lines().empty());
  EXPECT_EQ(clean.json_lines().back()["event"], "scan_summary");
  EXPECT_EQ(clean.json_lines().back()["risks"], 0) << clean.out;

  fixture::Container* collector = start(ContainerKind::kLogCollectorPrivate);
  ASSERT_NE(collector, nullptr);
  RunResult r = scan();
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  auto found = risks_of(r, collector->id);
  // Its /var/log/pods bind is unrelated: one risk, the kubelet root.
  ASSERT_EQ(found.size(), 1u) << r.out;
  const nlohmann::json& risk = found[0];
  expect_names(risk, *collector, "containerd");
  EXPECT_TRUE(risk["device"].is_null()) << risk.dump();
  EXPECT_EQ(risk["bind"]["source"], node_->kubelet_host_path()) << risk.dump();
  EXPECT_EQ(risk["bind"]["kubelet_root"], true) << risk.dump();
  EXPECT_EQ(risk["bind"]["relation"], "covers") << risk.dump();
  EXPECT_EQ(risk["bind"]["mountpoint"], "/var/lib/kubelet") << risk.dump();
  EXPECT_EQ(risk["bind"]["propagation"], "private") << risk.dump();
  EXPECT_EQ(risk["pids"], nlohmann::json::array({collector->pid})) << risk.dump();
  const std::string hint = risk.value("hint", "");
  EXPECT_NE(hint.find("set mountPropagation: HostToContainer on the volumeMount of the hostPath volume " +
                      node_->kubelet_root()),
            std::string::npos)
      << hint;
  EXPECT_NE(hint.find("container " + collector->name + " (pod " + collector->pod.namespace_name + "/" +
                      collector->pod.name + ")"),
            std::string::npos)
      << hint;
  EXPECT_TRUE(risks_of(r, slave->id).empty()) << r.out;
  EXPECT_TRUE(risks_of(r, unrelated->id).empty()) << r.out;
  EXPECT_GE(r.json_lines().back().value("risks", 0), 1) << r.out;

  // The table names the same, and says what to do.
  RunResult table = scan({});
  EXPECT_EQ(table.exit_code, 1) << table.err;
  EXPECT_NE(table.out.find(collector->id.substr(0, 12)), std::string::npos) << table.out;
  EXPECT_NE(table.out.find(collector->pod.namespace_name + "/" + collector->pod.name), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("(the kubelet root)"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("hint set mountPropagation: HostToContainer"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find(slave->id.substr(0, 12)), std::string::npos) << table.out;

  // Gone with its container.
  ASSERT_TRUE(node_->stop_container(*collector).ok());
  RunResult after = scan();
  EXPECT_EQ(after.exit_code, 0) << after.out << after.err;
}

TEST_P(ScanRisks, ABindAboveTheKubeletRootIsOneRisk) {
  // /var holds the kubelet root (on its own disk: as a submount the rbind
  // brings along, which is the same risk, not a second one). Behind a
  // symlink the kubelet root is elsewhere: /var then holds a dangling link.
  fixture::Container* agent = start(ContainerKind::kHostPathPrivate, "/var");
  ASSERT_NE(agent, nullptr);
  RunResult r = scan();
  auto found = risks_of(r, agent->id);
  if (GetParam() == KubeletLayout::kSymlink) {
    EXPECT_TRUE(found.empty()) << r.out;
    fixture::Container* data = start(ContainerKind::kHostPathPrivate, "/data");
    ASSERT_NE(data, nullptr);
    r = scan();
    agent = data;
    found = risks_of(r, agent->id);
  }
  ASSERT_EQ(r.exit_code, 1) << r.out << r.err;
  ASSERT_EQ(found.size(), 1u) << r.out;
  EXPECT_EQ(found[0]["bind"]["kubelet_root"], false) << found[0].dump();
  EXPECT_EQ(found[0]["bind"]["relation"], "covers") << found[0].dump();
  const std::string source = found[0]["bind"]["source"];
  EXPECT_EQ(source, node_->tmp_dir() + (GetParam() == KubeletLayout::kSymlink ? "/data" : "/var"));
  expect_names(found[0], *agent, "containerd");
}

INSTANTIATE_TEST_SUITE_P(Layouts, ScanRisks,
                         ::testing::Values(KubeletLayout::kPlain, KubeletLayout::kOwnDisk, KubeletLayout::kSymlink),
                         [](const ::testing::TestParamInfo<KubeletLayout>& info) {
                           return std::string(fixture::to_string(info.param));
                         });

TEST(ScanRisksCommandLine, RisksIsItsOwnQuestion) {
  for (const char* other : {"--all", "--path=/tmp"}) {
    RunResult r = run_mountleak({"scan", "--risks", other}, 30s);
    EXPECT_EQ(r.exit_code, 2) << other << ": " << r.out << r.err;
    EXPECT_NE(r.err.find("excludes"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace mountleak::testing

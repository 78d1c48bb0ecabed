// SPDX-License-Identifier: Apache-2.0
// A container names its process and its mount point with bytes meant to
// break the output: an escape sequence that rewrites the terminal, a
// newline that forges a line, and a process name cut inside a UTF-8
// character. JSON output and the log stay valid and lossless, the table
// shows no raw control byte, and the holder is still reported.

#include <gtest/gtest.h>

#include <fstream>

#include "mountleak_process.h"
#include "output/json_line.h"
#include "seed_test_support.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;

// 4 bytes of ESC sequence and four 3-byte characters: PR_SET_NAME keeps 15
// bytes, so the last character is cut after its second byte.
const std::string kHostileComm = "\x1b[2J\xe6\x97\xa5\xe5\xbf\x97\xe6\x97\xa5\xe5\xbf\x97";
const std::string kCutComm = kHostileComm.substr(0, 15);
const std::string kHostileMountPoint = "/var/lib/kube\x1b]0;owned\x07let\n\tforged";

class HostileOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    node_ = make_seed_node();
    ASSERT_NE(node_, nullptr);
    fixture::ContainerSpec spec;
    spec.comm = kHostileComm;
    spec.kubelet_mount_point = kHostileMountPoint;
    auto c = node_->start_container(spec);
    ASSERT_TRUE(c) << c.error().message;
    collector_ = *c;
  }
  void TearDown() override {
    if (!node_) return;
    node_->teardown();
    EXPECT_TRUE(node_->teardown_errors().empty());
  }
  // The holder naming our collector, from an event or a scan object.
  static void expect_hostile_holder(const nlohmann::json& event, const fixture::Container& c) {
    auto held = holders_of_container(event, c.id);
    ASSERT_EQ(held.size(), 1u) << event.dump();
    const auto& h = held[0];
    EXPECT_EQ(h["role"], "leak");
    EXPECT_EQ(h["mountpoint"].get<std::string>().substr(0, kHostileMountPoint.size()), kHostileMountPoint)
        << h.dump();
    ASSERT_FALSE(h["processes"].empty()) << h.dump();
    const auto& p = h["processes"][0];
    EXPECT_EQ(p["comm_b64"], base64(kCutComm)) << p.dump();
    EXPECT_EQ(p["comm"], with_replacement_characters(kCutComm)) << p.dump();
  }
  std::unique_ptr<fixture::SeedNode> node_;
  fixture::Container* collector_ = nullptr;
};

TEST_F(HostileOutput, ScanJsonStaysValidAndNamesTheHolder) {
  RunResult r = run_mountleak(with({"scan", "-o", "json", "--device", node_->device_path()}, node_->cli_args()));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  std::vector<nlohmann::json> lines;
  ASSERT_NO_THROW(lines = r.json_lines()) << r.out;
  ASSERT_GE(lines.size(), 2u);
  expect_hostile_holder(lines[0], *collector_);
}

TEST_F(HostileOutput, ScanTableShowsNoControlBytes) {
  RunResult r = run_mountleak(with({"scan", "--device", node_->device_path()}, node_->cli_args()));
  ASSERT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("leak"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\\x1b[2J"), std::string::npos) << r.out;  // shown, escaped
  for (char c : r.out + r.err)
    EXPECT_TRUE(c == '\n' || static_cast<unsigned char>(c) >= 0x20) << "raw control byte " << int(c) << " in\n" << r.out;
  // The forged line does not start a line of its own.
  EXPECT_EQ(r.out.find("\n\tforged"), std::string::npos) << r.out;
}

TEST_F(HostileOutput, TraceJsonAndTheLogStayValid) {
  const std::string log = node_->tmp_dir() + "/trace.log";
  TraceProcess trace(with({"--log", log}, node_->cli_args()));
  ASSERT_TRUE(trace.started());
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  // A second collector of the same kind, made while tracing.
  fixture::ContainerSpec spec;
  spec.comm = kHostileComm;
  spec.kubelet_mount_point = kHostileMountPoint;
  auto c = node_->start_container(spec);
  ASSERT_TRUE(c) << c.error().message;
  auto risk = trace.wait_for(
      [&](const nlohmann::json& e) {
        return e.value("event", "") == "hostpath_risk" && !holders_of_container(e, (*c)->id).empty();
      },
      10s);
  ASSERT_TRUE(risk) << trace.describe() << trace.stderr_text();
  EXPECT_EQ((*risk)["bind"]["mountpoint"], kHostileMountPoint) << risk->dump();
  expect_hostile_holder(*risk, **c);
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();

  std::ifstream in(log);
  size_t lines = 0;
  for (std::string line; std::getline(in, line); ++lines)
    EXPECT_NO_THROW(nlohmann::json::parse(line)) << line;
  EXPECT_GT(lines, 0u);
}

}  // namespace
}  // namespace mountleak::testing

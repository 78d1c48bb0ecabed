// SPDX-License-Identifier: Apache-2.0
// deploy/node-problem-detector/mountleak-monitor.json, parsed as JSON and
// held to what node-problem-detector's custom plugin monitor accepts
// (pkg/custompluginmonitor/types: plugin "custom", a default condition for
// every permanent rule, rule timeouts within the global one) and to what
// mountleak is: `scan`'s exit statuses are NPD's OK, problem and unknown.

#include <gtest/gtest.h>

#include <charconv>
#include <fstream>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "../deploy/cli_options.h"
#include "../deploy/daemonset_manifest.h"

namespace mountleak::deploy {
namespace {

// NPD's plugin protocol: 0 OK, 1 NonOK, 2 Unknown. scan's own statuses
// must stay the same numbers for the config to mean what it says.
static_assert(kExitOk == 0 && kExitFindings == 1 && kExitError == 2);

// A Go duration of one unit ("30s", "5m", "1h") in seconds.
std::optional<double> go_duration_seconds(const std::string& text) {
  double value = 0;
  auto [rest, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || rest == text.data()) return std::nullopt;
  const std::string unit(rest, text.data() + text.size());
  if (unit == "s") return value;
  if (unit == "m") return value * 60;
  if (unit == "h") return value * 3600;
  return std::nullopt;
}

class NpdConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(deploy_dir() + "/node-problem-detector/mountleak-monitor.json");
    ASSERT_TRUE(in) << "cannot read the NPD config";
    config_ = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    ASSERT_FALSE(config_.is_discarded()) << "not JSON";
    ASSERT_TRUE(config_["rules"].is_array());
    ASSERT_EQ(config_["rules"].size(), 1u);
    rule_ = config_["rules"][0];
  }
  nlohmann::json config_;
  nlohmann::json rule_;
};

TEST_F(NpdConfigTest, IsACustomPluginMonitor) {
  EXPECT_EQ(config_.value("plugin", ""), "custom");
  EXPECT_FALSE(config_.value("source", "").empty());
}

TEST_F(NpdConfigTest, SetsTheMountLeakConditionWithADefault) {
  EXPECT_EQ(rule_.value("type", ""), "permanent");
  EXPECT_EQ(rule_.value("condition", ""), "MountLeak");
  EXPECT_FALSE(rule_.value("reason", "").empty());
  bool has_default = false;
  for (const auto& c : config_["conditions"])
    has_default |= c.value("type", "") == "MountLeak" && !c.value("reason", "").empty() &&
                   !c.value("message", "").empty();
  EXPECT_TRUE(has_default) << "NPD refuses a permanent rule without a default condition";
}

TEST_F(NpdConfigTest, RunsScanOnTheHostRootWithFlagsItKnows) {
  const std::string path = rule_.value("path", "");
  EXPECT_EQ(path.substr(path.rfind('/') + 1), "mountleak");
  ASSERT_TRUE(rule_["args"].is_array());
  std::vector<std::string> args = rule_["args"].get<std::vector<std::string>>();
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args.front(), "scan");
  EXPECT_EQ(option_value(args, {"--host-root"}), "/host");
  // The table's first line names the device and says LEAKED: that is the
  // condition's message. JSON would be cut mid-object.
  auto output = option_value(args, {"-o", "--output"});
  EXPECT_TRUE(!output || *output == "table") << *output;
  auto known = options_in_help(built_mountleak(), "scan");
  ASSERT_TRUE(known) << known.error().message;
  args.erase(args.begin());
  for (const auto& name : option_names(args)) EXPECT_TRUE(known->count(name)) << name << " is not in scan --help";
}

TEST_F(NpdConfigTest, TimeoutsFitTheInterval) {
  const auto& global = config_["pluginConfig"];
  auto interval = go_duration_seconds(global.value("invoke_interval", ""));
  auto global_timeout = go_duration_seconds(global.value("timeout", ""));
  auto rule_timeout = go_duration_seconds(rule_.value("timeout", ""));
  ASSERT_TRUE(interval && global_timeout && rule_timeout);
  EXPECT_LE(*rule_timeout, *global_timeout) << "NPD refuses a rule timeout above the global one";
  EXPECT_LT(*global_timeout, *interval) << "scans would pile up";
  // One scan at a time: each reads every process's descriptors.
  EXPECT_EQ(global.value("concurrency", 0), 1);
  EXPECT_GE(global.value("max_output_length", 0), 80);
}

TEST(GoDuration, ParsesOneUnit) {
  EXPECT_EQ(go_duration_seconds("30s"), 30.0);
  EXPECT_EQ(go_duration_seconds("5m"), 300.0);
  EXPECT_FALSE(go_duration_seconds("5"));
  EXPECT_FALSE(go_duration_seconds("m"));
}

}  // namespace
}  // namespace mountleak::deploy

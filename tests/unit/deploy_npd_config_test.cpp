// SPDX-License-Identifier: Apache-2.0
// deploy/node-problem-detector/mountleak-monitor.json, parsed as JSON and
// held to what node-problem-detector's custom plugin monitor accepts
// (pkg/custompluginmonitor/types: plugin "custom", a default condition for
// every permanent rule, rule timeouts within the global one) and to what
// mountleak is: `scan`'s exit statuses are NPD's OK, problem and unknown.

#include <gtest/gtest.h>

#include <algorithm>
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
    ASSERT_EQ(config_["rules"].size(), 2u);
    for (const auto& rule : config_["rules"]) rules_.push_back(rule);
  }
  nlohmann::json config_;
  std::vector<nlohmann::json> rules_;
};

TEST_F(NpdConfigTest, IsACustomPluginMonitor) {
  EXPECT_EQ(config_.value("plugin", ""), "custom");
  EXPECT_FALSE(config_.value("source", "").empty());
}

// MountLeak: a leak now (scan --all); HostPathRisk: a container that will
// leak (scan --risks).
TEST_F(NpdConfigTest, SetsTheMountLeakAndHostPathRiskConditionsWithDefaults) {
  const std::vector<std::pair<std::string, std::string>> expected = {{"MountLeak", "--all"},
                                                                      {"HostPathRisk", "--risks"}};
  ASSERT_EQ(rules_.size(), expected.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    const auto& rule = rules_[i];
    EXPECT_EQ(rule.value("type", ""), "permanent");
    EXPECT_EQ(rule.value("condition", ""), expected[i].first);
    EXPECT_FALSE(rule.value("reason", "").empty());
    auto args = rule["args"].get<std::vector<std::string>>();
    EXPECT_NE(std::find(args.begin(), args.end(), expected[i].second), args.end()) << rule.dump();
    bool has_default = false;
    for (const auto& c : config_["conditions"])
      has_default |= c.value("type", "") == expected[i].first && !c.value("reason", "").empty() &&
                     !c.value("message", "").empty() && c.value("reason", "") != rule.value("reason", "");
    EXPECT_TRUE(has_default) << "NPD refuses a permanent rule without a default condition: " << rule.dump();
  }
}

TEST_F(NpdConfigTest, RunsScanOnTheHostRootWithFlagsItKnows) {
  for (const auto& rule : rules_) {
    SCOPED_TRACE(rule.dump());
    const std::string path = rule.value("path", "");
    EXPECT_EQ(path.substr(path.rfind('/') + 1), "mountleak");
    ASSERT_TRUE(rule["args"].is_array());
    std::vector<std::string> args = rule["args"].get<std::vector<std::string>>();
    ASSERT_FALSE(args.empty());
    EXPECT_EQ(args.front(), "scan");
    EXPECT_EQ(option_value(args, {"--host-root"}), "/host");
    // The table's first lines (the device and LEAKED, or the risks' count
    // and the first container at risk) are the condition's message. JSON
    // would be cut mid-object.
    auto output = option_value(args, {"-o", "--output"});
    EXPECT_TRUE(!output || *output == "table") << *output;
    auto known = options_in_help(built_mountleak(), "scan");
    ASSERT_TRUE(known) << known.error().message;
    args.erase(args.begin());
    for (const auto& name : option_names(args)) EXPECT_TRUE(known->count(name)) << name << " is not in scan --help";
  }
}

TEST_F(NpdConfigTest, TimeoutsFitTheInterval) {
  const auto& global = config_["pluginConfig"];
  auto interval = go_duration_seconds(global.value("invoke_interval", ""));
  auto global_timeout = go_duration_seconds(global.value("timeout", ""));
  ASSERT_TRUE(interval && global_timeout);
  double all_rules = 0;
  for (const auto& rule : rules_) {
    auto rule_timeout = go_duration_seconds(rule.value("timeout", ""));
    ASSERT_TRUE(rule_timeout) << rule.dump();
    EXPECT_LE(*rule_timeout, *global_timeout) << "NPD refuses a rule timeout above the global one";
    all_rules += *rule_timeout;
  }
  EXPECT_LT(*global_timeout, *interval) << "scans would pile up";
  // concurrency 1 runs the rules one after the other.
  EXPECT_LT(all_rules, *interval) << "scans would pile up";
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

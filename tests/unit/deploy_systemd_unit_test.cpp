// SPDX-License-Identifier: Apache-2.0
// deploy/mountleak.service: systemd's own `systemd-analyze verify` judges
// its syntax and settings (any warning fails), and the parsed file is held
// to the README's "Deploying": the capability bounding set is what `trace`
// checks for, the sandbox is on with the log's directory writable, and the
// service's namespace follows the host's unmounts.

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "../deploy/cli_options.h"
#include "../deploy/daemonset_manifest.h"
#include "../deploy/unit_file.h"
#include "util/capabilities.h"

namespace mountleak::deploy {
namespace {

namespace fs = std::filesystem;

constexpr const char* kInstalledBinary = "/usr/local/bin/mountleak";

std::string unit_path() { return deploy_dir() + "/mountleak.service"; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

class SystemdUnitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = UnitFile::load(unit_path());
    ASSERT_TRUE(loaded) << loaded.error().message;
    unit_ = std::move(*loaded);
    auto exec = unit_.value("Service", "ExecStart");
    ASSERT_TRUE(exec);
    exec_start_ = split_words(*exec);
    ASSERT_GE(exec_start_.size(), 2u);
  }
  std::string service(const std::string& key) const { return unit_.value("Service", key).value_or(""); }
  std::vector<std::string> args() const { return {exec_start_.begin() + 2, exec_start_.end()}; }
  UnitFile unit_;
  std::vector<std::string> exec_start_;
};

// systemd-analyze checks that ExecStart's binary exists, so the copy it
// reads runs the built one instead of /usr/local/bin/mountleak; nothing
// else is changed. Unknown keys and bad values are only warnings to it: any
// output at all fails.
TEST_F(SystemdUnitTest, SystemdAnalyzeVerifiesItWithoutAWarning) {
  ASSERT_EQ(access("/usr/bin/systemd-analyze", X_OK), 0) << "systemd-analyze missing: scripts/setup.sh installs systemd";
  char dir_template[] = "/tmp/mountleak-unit-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  std::string text = read_file(unit_path());
  const size_t at = text.find(std::string("ExecStart=") + kInstalledBinary);
  ASSERT_NE(at, std::string::npos) << "ExecStart does not run " << kInstalledBinary;
  text.replace(at + 10, std::string(kInstalledBinary).size(), built_mountleak());
  const std::string copy = dir + "/mountleak.service";
  { std::ofstream(copy) << text; }

  const std::string command = "/usr/bin/systemd-analyze verify '" + copy + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) output.append(buf, n);
  const int status = pclose(pipe);
  fs::remove_all(dir);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
  EXPECT_EQ(output, "");
}

TEST_F(SystemdUnitTest, RunsTraceWithJsonAndARotatedLog) {
  EXPECT_EQ(exec_start_[0], kInstalledBinary);
  EXPECT_EQ(exec_start_[1], "trace");
  EXPECT_EQ(option_value(args(), {"-o", "--output"}), "json");
  // On the node itself: no host root prefix.
  auto root = option_value(args(), {"--host-root"});
  EXPECT_TRUE(!root || *root == "/") << *root;
  auto log = option_value(args(), {"--log"});
  ASSERT_TRUE(log);
  EXPECT_TRUE(option_value(args(), {"--log-max-size"}));
  EXPECT_TRUE(option_value(args(), {"--log-keep"}));
  // The only writable place under ProtectSystem=strict.
  EXPECT_EQ(log->rfind("/var/log/" + service("LogsDirectory") + "/", 0), 0u) << *log;
}

TEST_F(SystemdUnitTest, EveryFlagIsOneTraceKnows) {
  auto known = options_in_help(built_mountleak(), "trace");
  ASSERT_TRUE(known) << known.error().message;
  for (const auto& name : option_names(args())) EXPECT_TRUE(known->count(name)) << name << " is not in trace --help";
}

TEST_F(SystemdUnitTest, BoundingSetIsExactlyWhatTraceChecksFor) {
  std::set<std::string> bounded, needed;
  for (const auto& cap : unit_.words("Service", "CapabilityBoundingSet")) {
    std::string lower;
    for (char ch : cap) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    bounded.insert(lower);
  }
  for (const auto& need : trace_needs()) needed.insert(capability_name(need.capability));
  EXPECT_EQ(bounded, needed);
  EXPECT_TRUE(unit_.words("Service", "AmbientCapabilities").empty());
}

TEST_F(SystemdUnitTest, SandboxedWithTheLogDirectoryWritable) {
  EXPECT_EQ(unit_boolean(service("NoNewPrivileges")), true);
  EXPECT_EQ(service("ProtectSystem"), "strict");
  EXPECT_FALSE(service("LogsDirectory").empty());
  const std::string home = service("ProtectHome");
  EXPECT_TRUE(home == "read-only" || unit_boolean(home) == true) << home;
  for (const char* key : {"ProtectKernelTunables", "ProtectKernelModules", "ProtectControlGroups"})
    EXPECT_EQ(unit_boolean(service(key)), true) << key;
  // What would break trace stays off: a private /tmp or /dev hides node
  // paths, and namespace restrictions refuse the setns(2) into pins.
  for (const char* key : {"PrivateTmp", "PrivateDevices"})
    EXPECT_NE(unit_boolean(service(key)), true) << key;
  EXPECT_TRUE(service("RestrictNamespaces").empty());
}

// The sandbox gives the service a mount namespace of its own: a private
// one would keep every volume mounted when it started.
TEST_F(SystemdUnitTest, ItsNamespaceFollowsTheHostsUnmounts) {
  EXPECT_EQ(service("MountFlags"), "slave");
}

TEST_F(SystemdUnitTest, RestartsOnFailureAndRunsAsRoot) {
  EXPECT_EQ(service("Restart"), "on-failure");
  const std::string user = service("User");
  EXPECT_TRUE(user.empty() || user == "root") << user;
  EXPECT_EQ(unit_.value("Install", "WantedBy"), "multi-user.target");
}

TEST_F(SystemdUnitTest, MemoryBudgetIsTheDaemonSetsLimit) {
  auto manifest = load_daemonset(deploy_dir() + "/daemonset.yaml");
  ASSERT_TRUE(manifest) << manifest.error().message;
  auto limit = memory_quantity_bytes(manifest->container.node["resources"]["limits"]["memory"].as<std::string>());
  ASSERT_TRUE(limit);
  // systemd's K, M and G are powers of 1024, Kubernetes' Ki, Mi and Gi.
  std::string max = service("MemoryMax");
  ASSERT_FALSE(max.empty());
  if (std::string("KMG").find(max.back()) != std::string::npos) max += "i";
  auto bytes = memory_quantity_bytes(max);
  EXPECT_EQ(bytes, limit);
}

TEST(UnitFileParse, SectionsContinuationsCommentsAndResets) {
  auto unit = UnitFile::parse(
      "# comment\n[Service]\nCapabilityBoundingSet=CAP_A \\\n  CAP_B\n; other\nCapabilityBoundingSet=CAP_C\n"
      "Restart = always\nRestart=on-failure\nAmbientCapabilities=CAP_X\nAmbientCapabilities=\n");
  ASSERT_TRUE(unit) << unit.error().message;
  EXPECT_EQ(unit->words("Service", "CapabilityBoundingSet"), (std::vector<std::string>{"CAP_A", "CAP_B", "CAP_C"}));
  EXPECT_EQ(unit->value("Service", "Restart"), "on-failure");
  EXPECT_TRUE(unit->words("Service", "AmbientCapabilities").empty());
  EXPECT_FALSE(unit->value("Unit", "Description"));
}

TEST(UnitFileParse, MalformedLinesAreErrors) {
  EXPECT_FALSE(UnitFile::parse("Key=outside\n"));
  EXPECT_FALSE(UnitFile::parse("[Service]\nno equals sign\n"));
  EXPECT_FALSE(UnitFile::parse("[Service\nA=b\n"));
  EXPECT_EQ(unit_boolean("yes"), true);
  EXPECT_EQ(unit_boolean("off"), false);
  EXPECT_FALSE(unit_boolean("maybe"));
}

}  // namespace
}  // namespace mountleak::deploy

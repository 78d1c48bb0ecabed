// SPDX-License-Identifier: Apache-2.0
// `mountleak demo` as an operator runs it: every finding it promises shows
// up, naming the log collector, and nothing it made is left on the machine
// (temp dirs, loop devices, cgroups, processes, mounts).

#include <dirent.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "fixture/cgroups.h"
#include "fixture/fs_util.h"
#include "fixture/loop_device.h"
#include "mountleak_process.h"

namespace mountleak::testing {
namespace {

namespace fs = std::filesystem;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Everything on the machine a demo could leave behind, by name.
struct Leftovers {
  std::set<std::string> entries;

  static Leftovers now() {
    Leftovers l;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/tmp", ec)) {
      const std::string name = e.path().filename();
      if (starts_with(name, "mountleak-seed-") || starts_with(name, "mountleak-demo-"))
        l.entries.insert("tmp dir " + e.path().string());
    }
    for (const auto& e : fs::directory_iterator("/sys/block", ec)) {
      const std::string name = e.path().filename();
      if (!starts_with(name, "loop")) continue;
      const std::string backing = fixture::loop_backing_file(name);
      if (backing.find("mountleak-seed-") != std::string::npos)
        l.entries.insert("loop device " + name + " -> " + backing);
    }
    if (auto hierarchies = fixture::detect_cgroup_hierarchies(); hierarchies)
      for (const auto& h : *hierarchies)
        for (const auto& e : fs::directory_iterator(h.mount_point, ec))
          if (starts_with(e.path().filename(), "mountleak-seed-")) l.entries.insert("cgroup " + e.path().string());
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
      std::ifstream cmdline(e.path() / "cmdline");
      std::string text((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
      if (text.find("mountleak-demo-") != std::string::npos || text.find("mountleak-seed-") != std::string::npos)
        l.entries.insert("process " + e.path().filename().string());
    }
    std::ifstream mountinfo("/proc/1/mountinfo");
    for (std::string line; std::getline(mountinfo, line);)
      if (line.find("mountleak-seed-") != std::string::npos || line.find("mountleak-demo-") != std::string::npos)
        l.entries.insert("mount in PID 1's namespace: " + line);
    return l;
  }

  std::set<std::string> new_since(const Leftovers& before) const {
    std::set<std::string> added;
    for (const auto& e : entries)
      if (!before.entries.count(e)) added.insert(e);
    return added;
  }
};

std::string joined(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += "  " + i + "\n";
  return out;
}

TEST(Demo, ShowsEveryFindingAndLeavesNothingBehind) {
  const Leftovers before = Leftovers::now();
  RunResult r = run_mountleak({"demo"}, std::chrono::seconds(240));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  // trace's live view, in the order the demo makes them.
  const size_t risk = r.out.find(" RISK ");
  const size_t leak = r.out.find(" LEAK ");
  const size_t busy = r.out.find(" BUSY ");
  ASSERT_NE(risk, std::string::npos) << r.out;
  ASSERT_NE(leak, std::string::npos) << r.out;
  ASSERT_NE(busy, std::string::npos) << r.out;
  const size_t over = r.out.find(" leak over ");
  EXPECT_NE(over, std::string::npos) << r.out;
  EXPECT_LT(risk, leak);
  EXPECT_LT(leak, busy);
  EXPECT_LT(busy, over);
  // The leak names the private collector, not the HostToContainer one.
  const std::string leak_text = r.out.substr(leak, busy - leak);
  EXPECT_NE(leak_text.find("fluentd"), std::string::npos) << leak_text;
  EXPECT_EQ(leak_text.find("fluent-bit"), std::string::npos) << leak_text;
  // scan found the holder, then nothing once the collector restarted.
  EXPECT_NE(r.out.find("LEAKED"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("No leaked or shared tracked devices found"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("!!"), std::string::npos) << r.out;
  EXPECT_EQ(Leftovers::now().new_since(before), std::set<std::string>{})
      << "left behind:\n" << joined(Leftovers::now().new_since(before));
}

TEST(Demo, KeepsTheLogWhenAskedAndItHoldsTheLeak) {
  char tmpl[] = "/tmp/demo-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string log = std::string(tmpl) + "/demo.jsonl";
  RunResult r = run_mountleak({"demo", "--log", log}, std::chrono::seconds(240));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  auto text = fixture::read_file(log);
  ASSERT_TRUE(text.ok()) << text.error().message;
  EXPECT_NE(text->find("\"event\":\"leak\""), std::string::npos);
  EXPECT_NE(r.out.find(log), std::string::npos) << "the demo should say where the log is";
  // The log answers afterwards, as the demo says it will.
  RunResult report = run_mountleak({"report", "--log", log});
  EXPECT_EQ(report.exit_code, 0) << report.out << report.err;
  EXPECT_NE(report.out.find("fluentd"), std::string::npos) << report.out;
  RunResult replay = run_mountleak({"replay", "--log", log, "-o", "json"});
  EXPECT_EQ(replay.exit_code, 0) << replay.out << replay.err;
  EXPECT_NE(replay.out.find("\"event\":\"leak\""), std::string::npos) << replay.out;
  fs::remove_all(tmpl);
}

TEST(Demo, WithoutTraceScanStillFindsTheHolder) {
  RunResult r = run_mountleak({"demo", "--no-trace"}, std::chrono::seconds(120));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find(" LEAK "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LEAKED"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mountleak::testing

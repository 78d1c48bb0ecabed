// SPDX-License-Identifier: Apache-2.0
// What mountleak writes must survive what a node does to it: a symlink
// planted where the log goes, a crash mid-stream, a full disk, logrotate,
// a reader that leaves, stdout closed or full, and a stop signal while the
// tracer is still loading.

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture/fs_util.h"
#include "mountleak_process.h"
#include "output/json_line.h"

namespace mountleak::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every line of the file parses as JSON; returns them.
std::vector<nlohmann::json> parse_all(const std::string& path) {
  std::vector<nlohmann::json> out;
  for (const auto& line : lines_of(path)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << path << ": a line that does not parse: " << line;
    out.push_back(j);
  }
  return out;
}

bool has_event(const std::vector<nlohmann::json>& lines, const std::string& kind) {
  for (const auto& j : lines)
    if (j.is_object() && j.value("event", "") == kind) return true;
  return false;
}

// Runs `command` under bash; its exit status.
int shell(const std::string& command) {
  const int status = std::system(("bash -c '" + command + "'").c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class DurableOutput : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mountleak-durable-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log_ = dir_ + "/trace.log";
  }
  void TearDown() override {
    for (const auto& m : mounts_) umount2(m.c_str(), MNT_DETACH);
    EXPECT_TRUE(fixture::remove_tree(dir_));
  }
  // Raw mount events for the log: a tmpfs mounted and unmounted n times.
  void churn(int n, const std::string& name = "churn") {
    const std::string target = dir_ + "/" + name;
    mkdir(target.c_str(), 0755);
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(mount("churn", target.c_str(), "tmpfs", 0, nullptr), 0) << strerror(errno);
      ASSERT_EQ(umount2(target.c_str(), 0), 0) << strerror(errno);
    }
  }
  std::string dir_, log_;
  std::vector<std::string> mounts_;
};

TEST_F(DurableOutput, LogSymlinkIsRefusedAndItsTargetNeverCreated) {
  const std::string target = dir_ + "/elsewhere";
  ASSERT_EQ(symlink(target.c_str(), log_.c_str()), 0);
  RunResult r = run_mountleak({"trace", "--log", log_, "--duration", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("is a symlink"), std::string::npos) << r.err;
  EXPECT_NE(access(target.c_str(), F_OK), 0) << "the symlink's target was created";
}

TEST_F(DurableOutput, LogIsReadableByRootOnly) {
  RunResult fresh = run_mountleak({"trace", "--log", log_, "--duration", "0.5"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  struct stat st {};
  ASSERT_EQ(stat(log_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  ASSERT_EQ(chmod(log_.c_str(), 0644), 0);  // left so by an older run, or by hand
  RunResult again = run_mountleak({"trace", "--log", log_, "--duration", "0.5"});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  ASSERT_EQ(stat(log_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// kill -9 while events stream in, a crash's torn last line, and a restart:
// every line parses, and the torn bytes are kept.
TEST_F(DurableOutput, KilledMidStreamThenRestartedLeavesEveryLineParseable) {
  {
    TraceProcess trace({"--log", log_});
    ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
    churn(50);
    std::this_thread::sleep_for(200ms);
    kill(trace.pid(), SIGKILL);
    trace.stop();
  }
  ASSERT_FALSE(lines_of(log_).empty());
  const std::string torn = "{\"event\":\"mount\",\"path\":\"/var/lib/kube";
  {
    std::ofstream out(log_, std::ios::app);
    out << torn;  // what a crash inside write(2) of a longer line would leave
  }
  RunResult r = run_mountleak({"trace", "--log", log_, "--duration", "0.5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = parse_all(log_);
  bool kept = false;
  for (const auto& j : lines)
    kept = kept || (j.value("event", "") == "log_torn_tail" && j.value("bytes_b64", "") == base64(torn));
  EXPECT_TRUE(kept) << "no log_torn_tail line carries the torn bytes";
  EXPECT_TRUE(has_event(lines, "mount") || has_event(lines, "umount"));
  EXPECT_TRUE(has_event(lines, "stats"));
}

// The log on a tmpfs of 64 KiB, filled by raw events: the loss is counted
// and said on stderr once, and what was written is whole lines.
TEST_F(DurableOutput, FullDiskIsCountedAndSaidNotSilent) {
  const std::string small = dir_ + "/small";
  ASSERT_EQ(mkdir(small.c_str(), 0700), 0);
  ASSERT_EQ(mount("small", small.c_str(), "tmpfs", 0, "size=64k"), 0) << strerror(errno);
  mounts_.push_back(small);
  const std::string log = small + "/trace.log";
  TraceProcess trace({"--log", log});
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  churn(400);
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(trace.stop(), 0) << trace.stderr_text();
  nlohmann::json stats;
  for (const auto& e : trace.events())
    if (e.value("event", "") == "stats") stats = e["counters"];
  ASSERT_TRUE(stats.is_object()) << trace.describe();
  EXPECT_GT(stats.value("log_write_errors", 0), 0) << stats.dump();
  const std::string err = trace.stderr_text();
  const size_t said = err.find("No space left on device");
  EXPECT_NE(said, std::string::npos) << err;
  EXPECT_EQ(err.find("No space left on device", said + 1), std::string::npos) << "said more than once:\n" << err;
  parse_all(log);
}

// logrotate moves the file and sends SIGHUP: the tracer writes to a new
// file at the path, and nothing after the move lands in the moved one.
TEST_F(DurableOutput, HangupReopensTheLog) {
  TraceProcess trace({"--log", log_});
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  const std::string rotated = log_ + ".1";
  ASSERT_EQ(rename(log_.c_str(), rotated.c_str()), 0);
  kill(trace.pid(), SIGHUP);
  std::this_thread::sleep_for(200ms);
  churn(5);
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(trace.stop(), 0) << trace.stderr_text();
  auto before = parse_all(rotated);
  auto after = parse_all(log_);
  EXPECT_TRUE(has_event(before, "ready"));
  EXPECT_FALSE(has_event(before, "stats"));
  EXPECT_TRUE(has_event(after, "mount")) << "no mount event in the reopened log";
  EXPECT_TRUE(has_event(after, "stats"));
}

// The log's files oldest first: FILE.keep ... FILE.1, FILE (those absent
// skipped).
std::vector<std::string> log_files_oldest_first(const std::string& log, unsigned keep) {
  std::vector<std::string> out;
  for (unsigned n = keep; n >= 1; --n)
    if (access((log + "." + std::to_string(n)).c_str(), F_OK) == 0) out.push_back(log + "." + std::to_string(n));
  out.push_back(log);
  return out;
}

off_t size_of(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 ? st.st_size : -1;
}

// The raw mount and umount events on `target`, in log order, as "m" and
// "u"; and in `files_seen` how many files they were spread over.
std::string mounts_on(const std::vector<std::vector<nlohmann::json>>& files, const std::string& target,
                      int& files_seen) {
  std::string out;
  files_seen = 0;
  for (const auto& lines : files) {
    const size_t before = out.size();
    for (const auto& j : lines) {
      if (!j.is_object() || j.value("target", "") != target) continue;
      if (j.value("event", "") == "mount") out += 'm';
      if (j.value("event", "") == "umount") out += 'u';
    }
    files_seen += out.size() > before ? 1 : 0;
  }
  return out;
}

std::string repeated(const std::string& unit, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += unit;
  return out;
}

nlohmann::json last_stats(const std::vector<nlohmann::json>& lines) {
  nlohmann::json stats;
  for (const auto& j : lines)
    if (j.is_object() && j.value("event", "") == "stats") stats = j["counters"];
  return stats;
}

// A mount storm with the log rotating at 64 KiB and three kept: many
// rotations, never more than three old files beside the live one, none past
// the limit, every line whole; and the storm's last mounts, spread over
// more than one file, are all there, in order, each once.
TEST_F(DurableOutput, LogRotatesBySizeDuringAMountStorm) {
  constexpr off_t kMax = 64 * 1024;
  constexpr int kCounted = 150;  // ~100 KB of raw events: crosses a rotation, fits in what is kept
  TraceProcess trace({"--log", log_, "--log-max-size", "64K", "--log-keep", "3"});
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  churn(1500);
  churn(kCounted, "counted");
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(trace.stop(), 0) << trace.stderr_text();

  EXPECT_NE(access((log_ + ".4").c_str(), F_OK), 0) << "more than three rotated files kept";
  const auto names = log_files_oldest_first(log_, 3);
  ASSERT_EQ(names.size(), 4u) << "fewer than three rotations";
  std::vector<std::vector<nlohmann::json>> files;
  for (const auto& name : names) {
    EXPECT_LE(size_of(name), kMax) << name;
    files.push_back(parse_all(name));
  }
  const nlohmann::json stats = last_stats(files.back());
  ASSERT_TRUE(stats.is_object()) << "no stats line in the live file";
  EXPECT_EQ(stats.value("kernel_dropped_ringbuf", -1), 0) << stats.dump();
  EXPECT_GE(stats.value("log_rotations", 0), 10) << stats.dump();
  EXPECT_EQ(stats.value("log_rotations_refused", -1), 0) << stats.dump();
  EXPECT_EQ(stats.value("log_write_errors", -1), 0) << stats.dump();
  int spread = 0;
  EXPECT_EQ(mounts_on(files, dir_ + "/counted", spread), repeated("mu", kCounted));
  EXPECT_GE(spread, 2) << "the counted mounts did not cross a rotation";
}

// With every rotated file kept, the files together are the whole log: each
// of the storm's mounts once, and exactly the lines the tracer says it wrote
// (log_lines counts up to, not including, the stats line itself).
TEST_F(DurableOutput, RotatedLogsTogetherLoseAndRepeatNoLine) {
  constexpr int kMounts = 600;
  TraceProcess trace({"--log", log_, "--log-max-size", "64K", "--log-keep", "100"});
  ASSERT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  churn(kMounts);
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(trace.stop(), 0) << trace.stderr_text();

  const auto names = log_files_oldest_first(log_, 100);
  std::vector<std::vector<nlohmann::json>> files;
  size_t lines = 0;
  for (const auto& name : names) {
    files.push_back(parse_all(name));
    lines += files.back().size();
  }
  const nlohmann::json stats = last_stats(files.back());
  ASSERT_TRUE(stats.is_object()) << "no stats line in the live file";
  EXPECT_EQ(stats.value("kernel_dropped_ringbuf", -1), 0) << stats.dump();
  EXPECT_EQ(stats.value("log_rotations", 0), static_cast<int>(names.size()) - 1) << stats.dump();
  EXPECT_GE(names.size(), 4u);
  EXPECT_EQ(stats.value("log_lines", 0u) + 1, lines) << stats.dump();
  EXPECT_TRUE(has_event(files.front(), "ready"));
  int spread = 0;
  EXPECT_EQ(mounts_on(files, dir_ + "/churn", spread), repeated("mu", kMounts));
}

TEST_F(DurableOutput, FullOrClosedStdoutIsAnError) {
  const std::string ml = MOUNTLEAK_BINARY;
  EXPECT_EQ(shell(ml + " scan --all -o json >/dev/full 2>/dev/null"), 2);
  EXPECT_EQ(shell(ml + " scan --all -o json >&- 2>/dev/null"), 2);
  EXPECT_EQ(shell(ml + " trace -o json --duration 0.5 >/dev/full 2>/dev/null"), 2);
  EXPECT_EQ(shell(ml + " trace -o json --duration 0.5 >&- 2>/dev/null"), 2);
}

// `| head -1`: the reader leaves; the command stops cleanly (no SIGPIPE
// death, no error), and the log still gets everything.
TEST_F(DurableOutput, ReaderLeavingIsACleanStop) {
  const std::string ml = MOUNTLEAK_BINARY;
  EXPECT_EQ(shell("set -o pipefail; " + ml + " scan --all -o json | head -c1 >/dev/null"), 0);
  EXPECT_EQ(shell("set -o pipefail; " + ml + " trace -o json --duration 1 --log " + log_ + " | head -1 >/dev/null"), 0);
  auto lines = parse_all(log_);
  EXPECT_TRUE(has_event(lines, "ready"));
  EXPECT_TRUE(has_event(lines, "stats"));
}

// How long a trace takes to be gone after `sig`, sent either once it is
// ready or 300 ms after exec, while it is still starting.
std::chrono::nanoseconds gone_after(int sig, int& status, bool when_ready) {
  TraceProcess trace({});
  EXPECT_TRUE(trace.started());
  if (when_ready)
    EXPECT_TRUE(trace.wait_for_event("ready", 20s)) << trace.stderr_text();
  else
    std::this_thread::sleep_for(300ms);  // past exec, still starting
  return gone_after_signal(trace.pid(), sig, status, 10s);
}

// Answered within a second, measured against SIGKILL of a ready trace: the
// kernel itself takes about a second here to detach the programs of a
// process that exits, whatever it exits of, and a stop during start-up may
// come after some or all of them are attached.
TEST_F(DurableOutput, StopSignalDuringStartupIsAnsweredWithinASecond) {
  int killed = 0, stopped = 0;
  const auto floor = gone_after(SIGKILL, killed, true);
  const auto took = gone_after(SIGTERM, stopped, false);
  EXPECT_LT(took, floor + 1s) << "SIGKILL when ready: " << floor.count() / 1000000
                              << " ms, SIGTERM while starting: " << took.count() / 1000000 << " ms";
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << stopped;
}

}  // namespace
}  // namespace mountleak::testing

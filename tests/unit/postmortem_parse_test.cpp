// SPDX-License-Identifier: Apache-2.0
// report's reading of log lines: recorded lines into typed values, exact
// bytes from "<key>_b64", damaged lines refused with a reason and never a
// throw, fields of the wrong type taken as absent; RFC 3339 and relative
// times.

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "postmortem/log_entry_parser.h"
#include "postmortem/log_records.h"
#include "postmortem/log_time.h"

namespace mountleak {
namespace {

const std::string kSeedLog = std::string(MOUNTLEAK_TEST_DATA) + "/postmortem/seed_trace.log";

std::vector<std::string> recorded_lines() {
  std::ifstream in(kSeedLog);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(LogTime, Rfc3339AsTheLogWritesItAndAsPeopleType) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:01.5Z"), 1500000);
  EXPECT_EQ(parse_rfc3339("2026-12-02T13:00:53.929525Z"), int64_t{1796216453} * 1000000 + 929525);
  EXPECT_EQ(parse_rfc3339("2026-12-02T14:00:53.929525+01:00"), parse_rfc3339("2026-12-02T13:00:53.929525Z"));
  EXPECT_EQ(parse_rfc3339("2026-12-02 13:00:53Z"), parse_rfc3339("2026-12-02T13:00:53Z"));
  EXPECT_EQ(parse_rfc3339("2024-02-29T00:00:00Z").has_value(), true);
  for (const char* bad : {"2026-02-29T00:00:00Z", "2026-12-02T13:00:53", "2026-12-02T24:00:00Z", "2026-13-01T00:00:00Z",
                          "2026-12-02T13:00:53.Z", "2026-12-02T13:00:53Zjunk", "yesterday", "", "2026-12-02"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
}

TEST(LogTime, RelativeBackFromNow) {
  const LogMicros now = 1000LL * 86400 * 1000000;
  EXPECT_EQ(parse_relative_time("-90s", now), now - 90 * 1000000LL);
  EXPECT_EQ(parse_relative_time("-5m", now), now - 300 * 1000000LL);
  EXPECT_EQ(parse_relative_time("-2h", now), now - 7200 * 1000000LL);
  EXPECT_EQ(parse_relative_time("-1d", now), now - 86400 * 1000000LL);
  EXPECT_EQ(parse_relative_time("now", now), now);
  for (const char* bad : {"5m", "-m", "-5x", "-5.5m", "-99999999999999999999d", ""})
    EXPECT_FALSE(parse_relative_time(bad, now).has_value()) << bad;
}

TEST(LogEntryParser, RecordedLinesBecomeTypedValues) {
  auto lines = recorded_lines();
  ASSERT_GE(lines.size(), 18u);
  auto ready = parse_log_entry(lines[0]);
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  ASSERT_TRUE(std::holds_alternative<LoggedReady>(ready->record));
  EXPECT_EQ(std::get<LoggedReady>(ready->record).host_mntns, 4026532177u);

  auto mount = parse_log_entry(lines[1]);
  ASSERT_TRUE(mount.ok());
  const auto& m = std::get<LoggedKernelEvent>(mount->record);
  EXPECT_EQ(m.kind, "mount");
  EXPECT_EQ(m.source, "/dev/loop0");
  EXPECT_EQ(m.fstype, "ext4");
  EXPECT_EQ(m.mntns, 4026532177u);
  EXPECT_EQ(m.pid, 18953);
  EXPECT_EQ(mount->time, parse_rfc3339("2026-12-02T13:00:53.929525Z"));

  auto ns = parse_log_entry(lines[3]);
  ASSERT_TRUE(ns.ok());
  const auto& n = std::get<LoggedKernelEvent>(ns->record);
  EXPECT_EQ(n.kind, "mntns");
  EXPECT_EQ(n.old_mntns, 4026532177u);
  EXPECT_EQ(n.mntns, 4026532187u);
  EXPECT_EQ(n.flags, "131072");

  bool risk = false, copy = false;
  for (const auto& line : lines) {
    auto e = parse_log_entry(line);
    if (!e.ok()) continue;
    const auto* f = std::get_if<LoggedFinding>(&e->record);
    if (!f) continue;
    EXPECT_EQ(f->device.path, "/dev/loop0");
    EXPECT_EQ(f->device.major, 7u);
    ASSERT_FALSE(f->holders.empty());
    const LoggedHolder& h = f->holders[0];
    ASSERT_TRUE(h.owner.container.has_value());
    EXPECT_EQ(h.owner.container->name, "fluentd");
    ASSERT_TRUE(h.owner.pod.has_value());
    EXPECT_EQ(h.owner.pod->namespace_, "kube-system");
    EXPECT_EQ(h.role, "leak");
    if (f->kind == FindingKind::kHostpathRisk) {
      risk = true;
      ASSERT_TRUE(f->bind.has_value());
      EXPECT_EQ(f->bind->propagation, "private");
      EXPECT_EQ(f->bind->mountpoint, "/var/lib/kubelet");
      EXPECT_TRUE(f->bind->kubelet_root);
    }
    if (f->kind == FindingKind::kMntnsCopy) {
      copy = true;
      EXPECT_EQ(f->from_mntns, 4026532177u);
      ASSERT_TRUE(f->culprit.has_value());
      EXPECT_EQ(f->culprit->pid, 18959);
      ASSERT_FALSE(f->culprit->cmdline.empty());
      EXPECT_EQ(f->culprit->cmdline[0], "./tests/privileged_tests");
    }
  }
  EXPECT_TRUE(risk && copy);
}

TEST(LogEntryParser, ExactBytesComeFromTheBase64Sibling) {
  auto e = parse_log_entry(
      R"({"event":"mount","time":"2026-12-02T13:00:00Z","comm":"\ufffdx","comm_b64":"/3g=","source":"a","target":"/t\u001b[2J",)"
      R"("flags":"MS_BIND"})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  const auto& m = std::get<LoggedKernelEvent>(e->record);
  EXPECT_EQ(m.comm, "\xffx");
  EXPECT_EQ(m.target, "/t\x1b[2J");  // kept as bytes; printing escapes it
  auto h = parse_log_entry(
      R"({"event":"leak","time":"2026-12-02T13:00:00Z","device":{"path":"/dev/rbd4","major":252,"minor":0},)"
      R"("holders":[{"role":"leak","mntns":5,"processes":[{"pid":1,"comm":"c","cmdline":["a","\ufffd"],"cmdline_b64":[null,"/w=="]}]}]})");
  ASSERT_TRUE(h.ok()) << h.error().message;
  const auto& f = std::get<LoggedFinding>(h->record);
  ASSERT_EQ(f.holders.size(), 1u);
  ASSERT_EQ(f.holders[0].processes.size(), 1u);
  EXPECT_EQ(f.holders[0].processes[0].cmdline, (std::vector<std::string>{"a", "\xff"}));
  // A sibling that is not base64 leaves the replaced text.
  auto bad = parse_log_entry(R"({"event":"mount","time":"2026-12-02T13:00:00Z","comm":"\ufffd","comm_b64":"!!"})");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(std::get<LoggedKernelEvent>(bad->record).comm, "\xef\xbf\xbd");
}

TEST(LogEntryParser, DamagedLinesAreRefusedWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not JSON"},
      {R"({"event":"mount","time":"2026-)", "not JSON"},
      {"[1,2]", "not a JSON object"},
      {R"({"time":"2026-12-02T13:00:00Z"})", "no \"event\""},
      {R"({"event":7,"time":"2026-12-02T13:00:00Z"})", "no \"event\""},
      {R"({"event":"mount"})", "no \"time\""},
      {R"({"event":"mount","time":"tuesday"})", "not an RFC 3339 time"},
  };
  for (const auto& [line, why] : cases) {
    auto e = parse_log_entry(line);
    ASSERT_FALSE(e.ok()) << line;
    EXPECT_NE(e.error().message.find(why), std::string::npos) << line << ": " << e.error().message;
  }
}

TEST(LogEntryParser, WrongTypesAreAbsentNotFatal) {
  auto e = parse_log_entry(
      R"({"event":"busy","time":"2026-12-02T13:00:00Z","device":"x","holders":{"a":1},"process":[1],"mntns":-4,)"
      R"("path":17,"source":null})");
  ASSERT_TRUE(e.ok()) << e.error().message;
  const auto& f = std::get<LoggedFinding>(e->record);
  EXPECT_EQ(f.kind, FindingKind::kBusy);
  EXPECT_TRUE(f.holders.empty());
  EXPECT_FALSE(f.culprit.has_value());
  EXPECT_EQ(f.mntns, 0u);
  EXPECT_EQ(f.busy_path, "");
  auto big = parse_log_entry(
      R"({"event":"leak","time":"2026-12-02T13:00:00Z","device":{"major":99999999,"minor":1e300},"holders":[7,"x",{"mntns":"4"}]})");
  ASSERT_TRUE(big.ok());
  const auto& g = std::get<LoggedFinding>(big->record);
  EXPECT_EQ(g.device.major, 0u);
  EXPECT_EQ(g.device.minor, 0u);
  ASSERT_EQ(g.holders.size(), 1u);
  EXPECT_EQ(g.holders[0].mntns, 0u);
}

TEST(LogEntryParser, OtherRecordsAreNotices) {
  auto torn = parse_log_entry(R"({"event":"log_torn_tail","length":3,"bytes_b64":"e30="})");
  ASSERT_TRUE(torn.ok());
  EXPECT_FALSE(torn->time.has_value());
  EXPECT_EQ(std::get<LoggedNotice>(torn->record).kind, "log_torn_tail");
  auto lost = parse_log_entry(R"({"event":"lost","count":12,"time":"2026-12-02T13:00:00Z"})");
  ASSERT_TRUE(lost.ok());
  EXPECT_EQ(std::get<LoggedNotice>(lost->record).count, 12u);
  auto future = parse_log_entry(R"({"event":"from_a_newer_mountleak","time":"2026-12-02T13:00:00Z"})");
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(std::get<LoggedNotice>(future->record).kind, "from_a_newer_mountleak");
}

TEST(LogRecords, TheRecordedLogWithItsTornLastLine) {
  std::vector<std::string> files{kSeedLog};
  auto log = load_log_records(files);
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ(log->lines, 18u);
  EXPECT_EQ(log->unparsed, 0u);
  // The failed exclusive open is a busy, not a failed call; it and the
  // container's tmpfs root can be no step of a history.
  EXPECT_EQ(log->failed_calls, 0u);
  EXPECT_EQ(log->raw_not_needed, 2u);
  EXPECT_EQ(log->entries.size(), 16u);
  ASSERT_EQ(log->warnings.size(), 1u);
  EXPECT_NE(log->warnings[0].find("line 19: no newline at the end (torn by a crash?)"), std::string::npos)
      << log->warnings[0];
  EXPECT_EQ(host_mntns_of(*log), 4026532177u);
}

TEST(LogRecords, LinesThatDoNotParseAreCountedAndTheFirstFewNamed) {
  LogRecords log;
  for (int i = 0; i < 15; ++i) add_log_line(log, "garbage", "trace.log: line " + std::to_string(i + 1));
  add_log_line(log, R"({"event":"lost","count":3,"time":"2026-12-02T13:00:00Z"})", "trace.log: line 16");
  add_log_line(log, R"({"event":"log_torn_tail","length":1,"bytes_b64":"eA=="})", "trace.log: line 17");
  add_log_line(log, R"({"event":"umount","time":"2026-12-02T13:00:00Z","ret":-16,"target":"/x"})", "trace.log: line 18");
  EXPECT_EQ(log.lines, 18u);
  EXPECT_EQ(log.unparsed, 15u);
  EXPECT_EQ(log.lost_events, 3u);
  EXPECT_EQ(log.torn_tails, 1u);
  EXPECT_EQ(log.failed_calls, 1u);
  EXPECT_EQ(log.warnings.size(), 10u);
  EXPECT_EQ(log.warnings[0], "trace.log: line 1: not JSON; skipped");
  EXPECT_EQ(log.entries.size(), 1u);  // the lost notice
  EXPECT_EQ(host_mntns_of(log), 0u);
}

// The recorded log split as a rotation leaves it: its first half in
// FILE.1.gz (logrotate compressed it), the rest, torn line included, in FILE.
TEST(LogRecords, AcrossRotationsWithACompressedOne) {
  char tmpl[] = "/tmp/mountleak-report-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, log = dir + "/trace.log";
  std::ifstream in(kSeedLog, std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t cut = 0;
  for (int i = 0; i < 9; ++i) cut = all.find('\n', cut) + 1;
  gzFile gz = gzopen((log + ".1.gz").c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, all.data(), static_cast<unsigned>(cut)), static_cast<int>(cut));
  gzclose(gz);
  std::ofstream(log, std::ios::binary) << all.substr(cut);

  auto files = log_files(log);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{log + ".1.gz", log}));
  auto records = load_log_records(*files);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(records->lines, 18u);
  EXPECT_EQ(records->unparsed, 0u);
  ASSERT_EQ(records->warnings.size(), 1u);
  EXPECT_NE(records->warnings[0].find(log + ": line 10: no newline"), std::string::npos) << records->warnings[0];
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mountleak

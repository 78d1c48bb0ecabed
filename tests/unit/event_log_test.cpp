// SPDX-License-Identifier: Apache-2.0
// The post-mortem log rotating itself by size, in a temporary directory:
// at most `keep` old files, oldest with the highest number, every line whole
// and in exactly one file, and names planted in the directory left alone.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "output/event_log.h"

namespace mountleak {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> lines_of(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

uint64_t size_of(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// A line of about 60 bytes carrying its sequence number.
std::string numbered_line(int seq) {
  return nlohmann::json{{"event", "mount"}, {"seq", seq}, {"target", "/var/lib/kubelet/x"}}.dump();
}

class LogRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/mountleak-eventlog-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    log_ = dir_ + "/trace.log";
  }
  void TearDown() override { fs::remove_all(dir_); }  // never follows a symlink

  EventLog open_log(uint64_t max_size, unsigned keep) {
    auto log = EventLog::open(log_, LogRotation{max_size, keep});
    EXPECT_TRUE(log) << log.error().message;
    return std::move(*log);
  }
  // The files oldest first: FILE.keep ... FILE.1, FILE; those absent skipped.
  std::vector<std::string> files_oldest_first(unsigned keep) const {
    std::vector<std::string> out;
    for (unsigned n = keep; n >= 1; --n)
      if (exists_nofollow(log_ + "." + std::to_string(n))) out.push_back(log_ + "." + std::to_string(n));
    out.push_back(log_);
    return out;
  }
  // The seq numbers of every line in `files`, in order; every line must parse.
  static std::vector<int> seqs_in(const std::vector<std::string>& files) {
    std::vector<int> out;
    for (const auto& f : files)
      for (const auto& line : lines_of(f)) {
        auto j = nlohmann::json::parse(line, nullptr, false);
        EXPECT_FALSE(j.is_discarded()) << f << ": a line that does not parse: " << line;
        if (!j.is_discarded()) out.push_back(j.value("seq", -1));
      }
    return out;
  }
  // Raw lines buffered and flushed in batches (a batch can straddle a
  // rotation), and every seventh line a finding, written at once.
  static void write_lines(EventLog& log, int from, int to) {
    for (int seq = from; seq < to; ++seq) {
      log.append(numbered_line(seq), seq % 7 == 0);
      if (seq % 5 == 4) log.flush(true);
    }
    log.flush(true);
  }

  std::string dir_, log_;
};

TEST_F(LogRotationTest, KeepsAtMostNFilesOldestWithTheHighestNumber) {
  constexpr uint64_t kMax = 1000;
  constexpr int kLines = 400;  // ~26 KB: many rotations
  {
    EventLog log = open_log(kMax, 3);
    write_lines(log, 0, kLines);
    EXPECT_EQ(log.counters().lines, static_cast<uint64_t>(kLines));
    EXPECT_GE(log.counters().rotations, 20u);
    EXPECT_EQ(log.counters().rotations_refused, 0u);
  }
  EXPECT_FALSE(exists_nofollow(log_ + ".4"));
  const auto files = files_oldest_first(3);
  ASSERT_EQ(files.size(), 4u);
  // The newest lines, in order, each once, ending with the last one written.
  const std::vector<int> seqs = seqs_in(files);
  ASSERT_FALSE(seqs.empty());
  EXPECT_EQ(seqs.back(), kLines - 1);
  for (size_t i = 1; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], seqs[i - 1] + 1) << "at line " << i;
  // Each rotated file is at most kMax, and was rotated only because the
  // next line did not fit.
  for (size_t i = 0; i + 1 < files.size(); ++i) {
    EXPECT_LE(size_of(files[i]), kMax) << files[i];
    const std::string next_first_line = lines_of(files[i + 1]).front();
    EXPECT_GT(size_of(files[i]) + next_first_line.size() + 1, kMax) << files[i] << " was rotated too early";
  }
  EXPECT_LE(size_of(log_), kMax);
}

TEST_F(LogRotationTest, EveryLineLandsInExactlyOneFile) {
  constexpr int kLines = 300;
  {
    EventLog log = open_log(1000, 100);  // keeps them all
    write_lines(log, 0, kLines);
    EXPECT_GE(log.counters().rotations, 15u);
  }
  EXPECT_FALSE(exists_nofollow(log_ + ".100"));
  const auto files = files_oldest_first(100);
  EXPECT_GE(files.size(), 16u);
  for (const auto& f : files) EXPECT_LE(size_of(f), 1000u) << f;
  const std::vector<int> seqs = seqs_in(files);
  ASSERT_EQ(seqs.size(), static_cast<size_t>(kLines));
  for (int i = 0; i < kLines; ++i) EXPECT_EQ(seqs[i], i);
}

TEST_F(LogRotationTest, LineLargerThanTheMaximumGetsAFileOfItsOwn) {
  const std::string big = nlohmann::json{{"event", "mount"}, {"seq", 1}, {"pad", std::string(3000, 'x')}}.dump();
  {
    EventLog log = open_log(1000, 5);
    log.append(numbered_line(0), false);
    log.append(big, false);
    log.append(numbered_line(2), false);
    log.flush(true);
    EXPECT_EQ(log.counters().lines, 3u);
    EXPECT_EQ(log.counters().rotations, 2u);
  }
  EXPECT_EQ(lines_of(log_ + ".2"), std::vector<std::string>{numbered_line(0)});
  EXPECT_EQ(lines_of(log_ + ".1"), std::vector<std::string>{big});
  EXPECT_EQ(lines_of(log_), std::vector<std::string>{numbered_line(2)});
}

TEST_F(LogRotationTest, ExistingFileAlreadyTooLargeIsRotatedBeforeTheFirstLine) {
  { std::ofstream(log_) << numbered_line(0) << "\n" << nlohmann::json(std::string(2000, 'x')).dump() << "\n"; }
  {
    EventLog log = open_log(1000, 2);
    log.append(numbered_line(1), true);
  }
  EXPECT_EQ(lines_of(log_), std::vector<std::string>{numbered_line(1)});
  EXPECT_EQ(lines_of(log_ + ".1").front(), numbered_line(0));
}

// Someone who can write to the directory plants a symlink where the first
// rotated file goes: it is not followed, not replaced, and no line is lost.
TEST_F(LogRotationTest, SymlinkPlantedAtARotatedNameIsNeitherFollowedNorClobbered) {
  const std::string precious = dir_ + "/precious";
  { std::ofstream(precious) << "not a log\n"; }
  ASSERT_EQ(::symlink(precious.c_str(), (log_ + ".1").c_str()), 0);
  EventLog log = open_log(1000, 3);
  ::testing::internal::CaptureStderr();
  write_lines(log, 0, 100);  // ~6 KB: wants several rotations
  const std::string err = ::testing::internal::GetCapturedStderr();

  EXPECT_EQ(fs::read_symlink(log_ + ".1").string(), precious);
  EXPECT_EQ(lines_of(precious), std::vector<std::string>{"not a log"});
  EXPECT_EQ(log.counters().rotations, 0u);
  EXPECT_GE(log.counters().rotations_refused, 1u);
  EXPECT_EQ(log.counters().lines, 100u);
  std::vector<int> seqs = seqs_in({log_});
  ASSERT_EQ(seqs.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seqs[i], i);
  const size_t said = err.find("is a symlink; not clobbering it");
  EXPECT_NE(said, std::string::npos) << err;
  EXPECT_EQ(err.find("is a symlink", said + 1), std::string::npos) << "said more than once:\n" << err;

  // Once the name is free again, the next try rotates.
  ASSERT_EQ(::unlink((log_ + ".1").c_str()), 0);
  std::this_thread::sleep_for(EventLog::kRotationRetryDelay + std::chrono::milliseconds(50));
  write_lines(log, 100, 101);
  EXPECT_EQ(log.counters().rotations, 1u);
  EXPECT_EQ(seqs_in({log_ + ".1", log_}).size(), 101u);
}

TEST_F(LogRotationTest, DirectoryPlantedAtTheOldestNameIsLeftAlone) {
  ASSERT_EQ(::mkdir((log_ + ".2").c_str(), 0700), 0);
  EventLog log = open_log(1000, 2);
  ::testing::internal::CaptureStderr();
  write_lines(log, 0, 40);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(fs::is_directory(log_ + ".2"));
  EXPECT_EQ(log.counters().rotations, 0u);
  EXPECT_NE(err.find(".2 is not a regular file; not clobbering it"), std::string::npos) << err;
  EXPECT_EQ(seqs_in({log_}).size(), 40u);
}

// logrotate without SIGHUP moved the file and another took its name: that
// one is not ours to rename, and the file being written keeps every line.
TEST_F(LogRotationTest, FileReplacedWithoutReopenIsNotRotated) {
  EventLog log = open_log(1000, 2);
  write_lines(log, 0, 5);
  ASSERT_EQ(::rename(log_.c_str(), (dir_ + "/moved").c_str()), 0);
  { std::ofstream(log_) << "someone else's\n"; }
  ::testing::internal::CaptureStderr();
  write_lines(log, 5, 40);
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("no longer the file being written"), std::string::npos) << err;
  EXPECT_EQ(lines_of(log_), std::vector<std::string>{"someone else's"});
  EXPECT_FALSE(exists_nofollow(log_ + ".1"));
  EXPECT_EQ(seqs_in({dir_ + "/moved"}).size(), 40u);
}

// logrotate with SIGHUP: the reopened file's size is counted from its own
// start, and rotation goes on from there.
TEST_F(LogRotationTest, ReopenAfterAMoveStartsCountingAgain) {
  EventLog log = open_log(1000, 2);
  write_lines(log, 0, 10);  // ~600 bytes
  ASSERT_EQ(::rename(log_.c_str(), (dir_ + "/moved").c_str()), 0);
  ASSERT_TRUE(log.reopen());
  write_lines(log, 10, 20);  // would not fit after the first 600 bytes
  EXPECT_EQ(log.counters().rotations, 0u);
  EXPECT_EQ(seqs_in({log_}).size(), 10u);
  write_lines(log, 20, 40);
  EXPECT_GE(log.counters().rotations, 1u);
  EXPECT_EQ(log.counters().rotations_refused, 0u);
  const std::vector<int> seqs = seqs_in({log_ + ".1", log_});
  ASSERT_EQ(seqs.size(), 30u);
  EXPECT_EQ(seqs.front(), 10);
}

TEST_F(LogRotationTest, WithoutAMaximumNothingRotates) {
  {
    EventLog log = open_log(0, 5);
    write_lines(log, 0, 200);
    EXPECT_EQ(log.counters().rotations, 0u);
  }
  EXPECT_FALSE(exists_nofollow(log_ + ".1"));
  EXPECT_EQ(seqs_in({log_}).size(), 200u);
}

}  // namespace
}  // namespace mountleak

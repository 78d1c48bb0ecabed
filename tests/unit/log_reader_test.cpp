// SPDX-License-Identifier: Apache-2.0
// Reading a post-mortem log back: rotations in order, gzip ones too, a torn
// last line and an overlong one skipped and said, planted names refused.

#include "postmortem/log_reader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace mountleak {
namespace {

namespace fs = std::filesystem;

class LogReaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mountleak-logreader-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    log_ = dir_ + "/trace.jsonl";
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
  }
  static void write_gzip(const std::string& path, const std::string& text) {
    gzFile gz = gzopen(path.c_str(), "wb");
    ASSERT_NE(gz, nullptr);
    ASSERT_EQ(gzwrite(gz, text.data(), static_cast<unsigned>(text.size())), static_cast<int>(text.size()));
    gzclose(gz);
  }

  std::vector<std::string> read_all(const std::vector<std::string>& files, LogReadLimits limits = {}) {
    std::vector<std::string> lines;
    auto status = read_log(
        files, [&](const LogLine& line) { lines.push_back(std::string(line.text)); }, warnings_, limits);
    EXPECT_TRUE(status.ok());
    return lines;
  }

  std::string dir_, log_;
  std::vector<std::string> warnings_;
};

TEST_F(LogReaderTest, RotationsOldestFirstWithCompressedOnes) {
  write_gzip(log_ + ".3.gz", "a\nb\n");
  write_gzip(log_ + ".2.gz", "c\n");
  write(log_ + ".1", "d\n");
  write(log_, "e\nf\n");
  auto files = log_files(log_);
  ASSERT_TRUE(files.ok()) << files.error().message;
  EXPECT_EQ(*files, (std::vector<std::string>{log_ + ".3.gz", log_ + ".2.gz", log_ + ".1", log_}));
  EXPECT_EQ(read_all(*files), (std::vector<std::string>{"a", "b", "c", "d", "e", "f"}));
  EXPECT_TRUE(warnings_.empty());
}

TEST_F(LogReaderTest, AGapEndsTheRotations) {
  write(log_ + ".1", "new\n");
  write(log_ + ".3", "unrelated\n");
  write(log_, "now\n");
  auto files = log_files(log_);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, (std::vector<std::string>{log_ + ".1", log_}));
}

TEST_F(LogReaderTest, OnlyRotatedFilesLeft) {
  write(log_ + ".1", "x\n");
  auto files = log_files(log_);
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(*files, std::vector<std::string>{log_ + ".1"});
}

TEST_F(LogReaderTest, NoLogAtAllIsAnError) {
  auto files = log_files(log_);
  ASSERT_FALSE(files.ok());
  EXPECT_NE(files.error().message.find(log_), std::string::npos);
}

TEST_F(LogReaderTest, TornLastLineIsSkippedAndSaid) {
  write(log_, "{\"event\":\"ready\"}\n{\"event\":\"le");
  EXPECT_EQ(read_all({log_}), std::vector<std::string>{"{\"event\":\"ready\"}"});
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("line 2"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[0].find("torn"), std::string::npos) << warnings_[0];
}

TEST_F(LogReaderTest, OverlongLineIsSkippedAndTheRestRead) {
  write(log_, "short\n" + std::string(300, 'x') + "\nafter\n");
  EXPECT_EQ(read_all({log_}, LogReadLimits{100}), (std::vector<std::string>{"short", "after"}));
  ASSERT_EQ(warnings_.size(), 1u);
  EXPECT_NE(warnings_[0].find("line 2"), std::string::npos) << warnings_[0];
}

TEST_F(LogReaderTest, LineNumbersAreCountedPerFile) {
  write(log_ + ".1", "a\nb\n");
  write(log_, "c\n");
  std::vector<std::pair<std::string, uint64_t>> seen;
  ASSERT_TRUE(read_log(
                  {log_ + ".1", log_},
                  [&](const LogLine& line) { seen.emplace_back(line.file, line.number); }, warnings_)
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, uint64_t>>{{log_ + ".1", 1}, {log_ + ".1", 2}, {log_, 1}}));
}

TEST_F(LogReaderTest, PlantedSymlinkAndFifoAreRefusedNotFollowed) {
  write(dir_ + "/secret", "root's secret\n");
  ASSERT_EQ(symlink((dir_ + "/secret").c_str(), (log_ + ".1").c_str()), 0);
  ASSERT_EQ(mkfifo((log_ + ".2").c_str(), 0600), 0);
  write(log_, "ok\n");
  // A FIFO nobody writes would block a plain open forever.
  EXPECT_EQ(read_all({log_ + ".2", log_ + ".1", log_}), std::vector<std::string>{"ok"});
  ASSERT_EQ(warnings_.size(), 2u);
  EXPECT_NE(warnings_[0].find("not a regular file"), std::string::npos) << warnings_[0];
  EXPECT_NE(warnings_[1].find(log_ + ".1"), std::string::npos) << warnings_[1];
}

TEST_F(LogReaderTest, NothingReadableIsAnError) {
  std::vector<std::string> warnings;
  auto status = read_log({log_}, [](const LogLine&) {}, warnings);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(warnings.size(), 1u);
}

}  // namespace
}  // namespace mountleak

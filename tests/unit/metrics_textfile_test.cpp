// SPDX-License-Identifier: Apache-2.0
// --metrics-textfile: a whole page renamed into place, never written through
// a name planted in the directory.

#include "output/metrics_textfile.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace mountleak {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class MetricsTextfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mountleak-textfile-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(MetricsTextfileTest, WritesTheWholePageAndLeavesNoTemporaryFile) {
  auto file = MetricsTextfile::open((dir_ / "mountleak.prom").string());
  ASSERT_TRUE(file.ok()) << file.error().message;
  ASSERT_TRUE(file->write("mountleak_up 1\n").ok());
  ASSERT_TRUE(file->write("mountleak_up 0\n").ok());
  EXPECT_EQ(slurp(dir_ / "mountleak.prom"), "mountleak_up 0\n");
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "mountleak.prom").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(MetricsTextfileTest, APlantedSymlinkIsReplacedNotFollowed) {
  const fs::path victim = dir_ / "victim";
  std::ofstream(victim) << "precious\n";
  fs::create_symlink(victim, dir_ / "mountleak.prom");
  // The temporary name too.
  fs::create_symlink(victim, dir_ / (".mountleak.prom." + std::to_string(getpid()) + ".tmp"));
  auto file = MetricsTextfile::open((dir_ / "mountleak.prom").string());
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE(file->write("mountleak_up 1\n").ok());
  EXPECT_EQ(slurp(victim), "precious\n");
  EXPECT_FALSE(fs::is_symlink(dir_ / "mountleak.prom"));
  EXPECT_EQ(slurp(dir_ / "mountleak.prom"), "mountleak_up 1\n");
}

TEST_F(MetricsTextfileTest, NamesTheCollectorWouldNotReadAreRefused) {
  EXPECT_FALSE(MetricsTextfile::open((dir_ / "mountleak.txt").string()).ok());
  EXPECT_FALSE(MetricsTextfile::open((dir_ / ".prom").string()).ok());
  EXPECT_FALSE(MetricsTextfile::open((dir_ / ".hidden.prom").string()).ok());
  EXPECT_FALSE(MetricsTextfile::open((dir_ / "missing" / "m.prom").string()).ok());
}

TEST_F(MetricsTextfileTest, ADirectoryAtTheNameIsAnErrorAndNothingIsLeft) {
  fs::create_directory(dir_ / "mountleak.prom");
  auto file = MetricsTextfile::open((dir_ / "mountleak.prom").string());
  ASSERT_TRUE(file.ok());
  EXPECT_FALSE(file->write("mountleak_up 1\n").ok());
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1u);
}

}  // namespace
}  // namespace mountleak

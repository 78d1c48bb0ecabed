// SPDX-License-Identifier: Apache-2.0
// AsyncChild: the deadline child trace's loop polls instead of waiting for
// (trace --release-leaks). A child that never ends costs the loop nothing
// until its deadline, then is killed and said.

#include "sources/deadline_child.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <thread>

namespace mountleak {
namespace {

using namespace std::chrono_literals;

TEST(AsyncChild, AChildThatHangsIsPolledWithoutWaitingThenKilledAtItsDeadline) {
  auto child = AsyncChild::start(
      [](int out) {
        write_all(out, "x", 1);
        for (;;) pause();  // as stuck as a request to a file system that never answers
      },
      300ms);
  ASSERT_TRUE(child) << child.error().message;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(child->poll());
  EXPECT_LT(std::chrono::steady_clock::now() - started, 50ms) << "poll() waited for the child";
  while (!child->poll()) std::this_thread::sleep_for(5ms);
  EXPECT_GE(std::chrono::steady_clock::now() - started, 300ms);
  EXPECT_TRUE(child->output().timed_out);
  EXPECT_FALSE(child->output().exited_ok);
  EXPECT_EQ(child->output().bytes, "x");
}

TEST(AsyncChild, AChildThatEndsGivesAllItWrote) {
  auto child = AsyncChild::start([](int out) { write_all(out, "abc", 3); }, 5s);
  ASSERT_TRUE(child) << child.error().message;
  for (int i = 0; i < 1000 && !child->poll(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(child->done());
  EXPECT_FALSE(child->output().timed_out);
  EXPECT_TRUE(child->output().exited_ok);
  EXPECT_EQ(child->output().bytes, "abc");
}

TEST(AsyncChild, DestroyingOneStillRunningKillsIt) {
  pid_t pid = -1;
  {
    int pipefd[2];
    ASSERT_EQ(pipe(pipefd), 0);
    auto child = AsyncChild::start(
        [&](int) {
          const pid_t self = getpid();
          write_all(pipefd[1], &self, sizeof self);
          for (;;) pause();
        },
        60s);
    ASSERT_TRUE(child);
    ASSERT_EQ(read(pipefd[0], &pid, sizeof pid), static_cast<ssize_t>(sizeof pid));
    close(pipefd[0]);
    close(pipefd[1]);
  }
  for (int i = 0; i < 100 && reap_abandoned_children() > 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_NE(kill(pid, 0), 0) << "pid " << pid << " still runs";
}

}  // namespace
}  // namespace mountleak

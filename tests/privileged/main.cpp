// SPDX-License-Identifier: Apache-2.0
// main() of the privileged tier. These tests need root: real mount
// namespaces, loop devices, cgroups and BPF. Without root they must fail
// loudly, never skip: a green run that tested nothing is worse than a red one.
// Listing (ctest's discovery) works for anyone.
//
// The whole binary then runs in a private mount namespace, which plays the
// host of the seed fixture's fake node; nothing mounted here reaches the real
// host.

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "fixture/private_namespace.h"

namespace {

constexpr const char* kNeedRoot = "privileged tests need root (run scripts/test.sh as root)";

// Fails each test as it starts. A fatal failure recorded before the test
// object exists keeps gtest from running it at all, and the test is reported
// FAILED (a failing global Environment would report them as skipped).
class FailEveryTest : public testing::EmptyTestEventListener {
 public:
  explicit FailEveryTest(std::string why) : why_(std::move(why)) {}
  void OnTestStart(const testing::TestInfo&) override { GTEST_FAIL() << why_; }

 private:
  std::string why_;
};

int refuse(const std::string& why) {
  std::fprintf(stderr, "%s\n", why.c_str());
  testing::UnitTest::GetInstance()->listeners().Append(new FailEveryTest(why));
  // Whatever gtest returns, refusing is a failure.
  [[maybe_unused]] int ignored = RUN_ALL_TESTS();
  return 1;
}

bool only_listing(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--gtest_list_tests", 18) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const bool listing = only_listing(argc, argv);
  testing::InitGoogleTest(&argc, argv);
  if (listing) return RUN_ALL_TESTS();

  if (geteuid() != 0) return refuse(kNeedRoot);
  auto entered = mountleak::fixture::enter_private_mount_namespace();
  if (!entered) return refuse("cannot isolate the tests from the host: " + entered.error().message);
  return RUN_ALL_TESTS();
}

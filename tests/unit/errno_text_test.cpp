// SPDX-License-Identifier: Apache-2.0
#include "util/errno_text.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace mountleak {
namespace {

TEST(ErrnoText, NamesWhatLibcKnows) {
  EXPECT_EQ(errno_name(EBUSY), "EBUSY");
  EXPECT_EQ(errno_text(EBUSY), "EBUSY (Device or resource busy)");
  EXPECT_EQ(errno_text(-EPERM), "EPERM (Operation not permitted)");
}

// arm64 before 6.4 answers a trampoline attach with the kernel's own
// ENOTSUPP, which libc calls "Unknown error 524".
TEST(ErrnoText, NamesTheKernelsOwnErrnos) {
  EXPECT_EQ(errno_name(524), "ENOTSUPP");
  EXPECT_EQ(errno_text(-524), "ENOTSUPP (operation not supported by this kernel)");
}

TEST(ErrnoText, NumbersWhatNobodyNames) {
  EXPECT_EQ(errno_name(4000), "errno 4000");
  EXPECT_EQ(errno_text(4000).rfind("errno 4000 (", 0), 0u);
}

}  // namespace
}  // namespace mountleak

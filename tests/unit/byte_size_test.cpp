// SPDX-License-Identifier: Apache-2.0
// Sizes on the command line (--log-max-size): bytes, K, M or G, and
// nothing that only looks like a size.

#include <gtest/gtest.h>

#include <string>

#include "cli/option_checks.h"
#include "config/byte_size.h"

namespace mountleak {
namespace {

TEST(ByteSize, PlainBytesAndBinarySuffixes) {
  EXPECT_EQ(*parse_byte_size("0"), 0u);
  EXPECT_EQ(*parse_byte_size("4096"), 4096u);
  EXPECT_EQ(*parse_byte_size("64K"), 64u * 1024);
  EXPECT_EQ(*parse_byte_size("64k"), 64u * 1024);
  EXPECT_EQ(*parse_byte_size("100M"), 100u * 1024 * 1024);
  EXPECT_EQ(*parse_byte_size("3G"), uint64_t{3} << 30);
  EXPECT_EQ(*parse_byte_size("17179869183G"), uint64_t{17179869183} << 30);  // the largest that fits
}

TEST(ByteSize, NonsenseIsAnErrorSayingWhy) {
  for (const char* bad : {"", "-1", "+1", " 5", "5 ", "1.5M", "10MB", "1T", "0x10", "M", "K5", "5KK"}) {
    auto r = parse_byte_size(bad);
    EXPECT_FALSE(r) << "'" << bad << "' parsed as " << (r ? *r : 0);
    if (!r) {
      EXPECT_NE(r.error().message.find(std::string("'") + bad + "'"), std::string::npos) << r.error().message;
    }
  }
  EXPECT_FALSE(parse_byte_size("18446744073709551616"));  // 2^64
  EXPECT_FALSE(parse_byte_size("17179869184G"));          // 2^64 once multiplied
}

TEST(ByteSize, OptionValueIsRewrittenToBytesWithinItsRange) {
  CLI::Validator check = byte_size_or_zero(4096, uint64_t{1} << 40);
  std::string value = "64K";
  EXPECT_EQ(check(value), "");
  EXPECT_EQ(value, "65536");
  value = "0";
  EXPECT_EQ(check(value), "");
  value = "1K";
  EXPECT_NE(check(value), "");
  value = "2048G";
  EXPECT_NE(check(value), "");
  value = "lots";
  EXPECT_NE(check(value), "");
}

}  // namespace
}  // namespace mountleak

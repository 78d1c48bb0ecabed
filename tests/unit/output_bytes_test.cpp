// SPDX-License-Identifier: Apache-2.0
// Bytes from the node in the output: JSON stays valid and lossless, the
// terminal sees no control sequence.

#include <gtest/gtest.h>

#include "output/json_line.h"
#include "output/printable.h"

namespace mountleak {
namespace {

TEST(Utf8, ValidAndInvalidSequences) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain /var/lib/kubelet"));
  EXPECT_TRUE(valid_utf8("d\xc3\xa9j\xc3\xa0 \xe6\x97\xa5\xe5\xbf\x97 \xf0\x9f\x93\xa6"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));      // overlong '/'
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(valid_utf8("td-agent\xe6\x97"));  // a comm cut inside a character
}

TEST(Printable, EscapesControlsInvalidBytesAndBackslashes) {
  EXPECT_EQ(printable("fluentd"), "fluentd");
  EXPECT_EQ(printable("\x1b]0;owned\x07\x1b[2J"), "\\x1b]0;owned\\x07\\x1b[2J");
  EXPECT_EQ(printable("a\nb\tc\x7f"), "a\\x0ab\\x09c\\x7f");
  EXPECT_EQ(printable("C1 \xc2\x9b"), "C1 \\xc2\\x9b");  // CSI as a C1 control
  EXPECT_EQ(printable("cut \xe6\x97"), "cut \\xe6\\x97");
  EXPECT_EQ(printable("a\\x1b"), "a\\\\x1b");  // a literal backslash cannot pass for an escape
  EXPECT_EQ(printable("\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(terminal_safe("line 1\nline\x1b 2\n"), "line 1\nline\\x1b 2\n");
}

TEST(JsonLine, InvalidBytesBecomeReplacementCharactersWithTheBytesBeside) {
  nlohmann::json event = {{"event", "leak"},
                          {"mountpoint", "/data/\xff\xfe"},
                          {"holders", {{{"comm", "td-agent\xe6\x97"}, {"pid", 7}}}},
                          {"cmdline", {"/bin/sh", "-c", "\x80"}}};
  std::string line = json_line(event);
  nlohmann::json back = nlohmann::json::parse(line);  // throws if invalid
  EXPECT_EQ(back["mountpoint"], "/data/\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(back["mountpoint_b64"], base64("/data/\xff\xfe"));
  EXPECT_EQ(back["holders"][0]["comm_b64"], base64("td-agent\xe6\x97"));
  EXPECT_EQ(back["holders"][0]["pid"], 7);
  EXPECT_EQ(back["cmdline"][2], "\xef\xbf\xbd");
  EXPECT_EQ(back["cmdline_b64"], (nlohmann::json{nullptr, nullptr, base64("\x80")}));
  EXPECT_FALSE(back.contains("event_b64"));
}

TEST(JsonLine, ValidEventsAreUnchanged) {
  nlohmann::json event = {{"event", "busy"}, {"path", "/dev/rbd4"}, {"list", {1, "x"}}};
  EXPECT_EQ(json_line(event), event.dump());
}

TEST(JsonLine, InvalidKeysAreReplaced) {
  nlohmann::json event = {{"annotations", {{"k\xff", "v"}}}};
  nlohmann::json back = nlohmann::json::parse(json_line(event));
  EXPECT_TRUE(back["annotations"].contains("k\xef\xbf\xbd")) << back.dump();
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64("\xff\xfe"), "//4=");
}

}  // namespace
}  // namespace mountleak

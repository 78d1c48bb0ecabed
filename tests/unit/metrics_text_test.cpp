// SPDX-License-Identifier: Apache-2.0
// The exposition format written by hand: label values from containers can
// neither end their quotes nor break a line, and stay bounded.

#include "output/metrics_text.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

TEST(MetricsLabelValue, EscapesWhatTheFormatSays) {
  EXPECT_EQ(metrics_label_value("fluentd-x7k2p"), "fluentd-x7k2p");
  EXPECT_EQ(metrics_label_value("a\"b"), "a\\\"b");
  // printable() writes a backslash as \\ (so \xNN stays unambiguous), and
  // the format doubles each again.
  EXPECT_EQ(metrics_label_value("a\\b"), "a\\\\\\\\b");
  // A newline never reaches the format: printable() writes it as \x0a,
  // whose backslash the format then escapes.
  EXPECT_EQ(metrics_label_value("a\nb"), "a\\\\x0ab");
  EXPECT_EQ(metrics_label_value(std::string("a\0b", 3)), "a\\\\x00b");
}

TEST(MetricsLabelValue, InvalidUtf8AndEscapeSequencesAreShownAsBytes) {
  EXPECT_EQ(metrics_label_value("\x1b]0;owned\x07"), "\\\\x1b]0;owned\\\\x07");
  EXPECT_EQ(metrics_label_value("caf\xc3"), "caf\\\\xc3");
  EXPECT_EQ(metrics_label_value("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 stays
}

TEST(MetricsLabelValue, LongValuesAreCutBetweenCharacters) {
  std::string ascii(1000, 'a');
  std::string cut = metrics_label_value(ascii);
  EXPECT_EQ(cut.size(), kMaxLabelValueBytes);
  EXPECT_TRUE(cut.ends_with("..."));
  // Two-byte characters: the cut never splits one.
  std::string e_acute;
  for (int i = 0; i < 300; ++i) e_acute += "\xc3\xa9";
  cut = metrics_label_value(e_acute);
  EXPECT_LE(cut.size(), kMaxLabelValueBytes);
  ASSERT_TRUE(cut.ends_with("..."));
  std::string body = cut.substr(0, cut.size() - 3);
  EXPECT_EQ(body.size() % 2, 0u);
  EXPECT_EQ(body.substr(body.size() - 2), "\xc3\xa9");
}

TEST(MetricsPage, FamiliesAndSamples) {
  MetricsPage page;
  page.family("mountleak_x_total", "counter", "Things.");
  page.sample("mountleak_x_total", {{"kind", "leak"}}, 3);
  page.sample("mountleak_x_total", {{"kind", "a\"b"}, {"other", ""}}, 0);
  page.family("mountleak_up", "gauge", "Up.");
  page.sample("mountleak_up", 1);
  EXPECT_EQ(page.text(),
            "# HELP mountleak_x_total Things.\n"
            "# TYPE mountleak_x_total counter\n"
            "mountleak_x_total{kind=\"leak\"} 3\n"
            "mountleak_x_total{kind=\"a\\\"b\",other=\"\"} 0\n"
            "# HELP mountleak_up Up.\n"
            "# TYPE mountleak_up gauge\n"
            "mountleak_up 1\n");
}

}  // namespace
}  // namespace mountleak

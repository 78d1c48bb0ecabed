// SPDX-License-Identifier: Apache-2.0
// Values that parse but mean nothing are errors with exit status 2 and a
// message naming the option, before anything is read or loaded.

#include <gtest/gtest.h>

#include <cctype>

#include "mountleak_process.h"

namespace mountleak::testing {
namespace {

struct BadArguments {
  std::vector<std::string> args;
  std::string option;  // named in the message
};

class CommandLine : public ::testing::TestWithParam<BadArguments> {};

TEST_P(CommandLine, MeaninglessValueIsAnError) {
  RunResult r = run_mountleak(GetParam().args);
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(GetParam().option), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("\"event\""), std::string::npos) << r.out;  // nothing ran
}

INSTANTIATE_TEST_SUITE_P(
    Values, CommandLine,
    ::testing::Values(BadArguments{{"trace", "--duration", "-1"}, "--duration"},
                      BadArguments{{"trace", "--duration", "nan"}, "--duration"},
                      BadArguments{{"trace", "--duration", "1e10"}, "--duration"},
                      BadArguments{{"trace", "--duration", "5s"}, "--duration"},
                      BadArguments{{"trace", "--ringbuf-kb", "4194304"}, "--ringbuf-kb"},
                      BadArguments{{"trace", "--settle-ms", "-5"}, "--settle-ms"},
                      BadArguments{{"trace", "--host-mntns", "self"}, "--host-mntns"},
                      BadArguments{{"trace", "--log", "/nonexistent/l", "--log-max-size", "100MB"}, "--log-max-size"},
                      BadArguments{{"trace", "--log", "/nonexistent/l", "--log-max-size", "-1"}, "--log-max-size"},
                      BadArguments{{"trace", "--log", "/nonexistent/l", "--log-max-size", "100"}, "--log-max-size"},
                      BadArguments{{"trace", "--log-max-size", "1M"}, "--log-max-size"},
                      BadArguments{{"trace", "--log", "/nonexistent/l", "--log-keep", "3"}, "--log-keep"},
                      BadArguments{{"trace", "--log", "/nonexistent/l", "--log-max-size", "1M", "--log-keep", "0"},
                                   "--log-keep"},
                      BadArguments{{"scan", "--devices", ""}, "--devices"},
                      BadArguments{{"scan", "--path", "var/lib/kubelet"}, "--path"},
                      BadArguments{{"scan", "--host-root", "host"}, "--host-root"},
                      BadArguments{{"scan", "--kubelet-root", "./kubelet"}, "--kubelet-root"},
                      BadArguments{{"scan", "--cmdline", "some"}, "--cmdline"},
                      BadArguments{{"scan", "--device", ""}, "--device"},
                      BadArguments{{"scan", "--no-such-option"}, "--no-such-option"}),
    [](const ::testing::TestParamInfo<BadArguments>& info) {
      std::string name;
      for (const auto& a : info.param.args) name += "_" + a;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return std::to_string(info.index) + name;
    });

TEST(CommandLineHelp, HelpExitsZero) {
  RunResult r = run_mountleak({"scan", "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("--cmdline"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace mountleak::testing

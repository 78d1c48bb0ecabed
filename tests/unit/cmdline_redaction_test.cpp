// SPDX-License-Identifier: Apache-2.0
#include "findings/cmdline_redaction.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

using Argv = std::vector<std::string>;

TEST(CmdlineRedaction, MountOptionsKeepTheirShape) {
  EXPECT_EQ(redact_cmdline({"mount", "-t", "cifs", "-o", "username=u,password=hunter2,vers=3", "//srv/x", "/mnt"}),
            (Argv{"mount", "-t", "cifs", "-o", "username=u,password=<redacted>,vers=3", "//srv/x", "/mnt"}));
}

TEST(CmdlineRedaction, OptionsNamingASecret) {
  EXPECT_EQ(redact_cmdline({"agent", "--token", "abc", "--name", "x", "--api-key=k1", "-password=p"}),
            (Argv{"agent", "--token", "<redacted>", "--name", "x", "--api-key=<redacted>", "-password=<redacted>"}));
  EXPECT_EQ(redact_cmdline({"env", "AWS_SECRET_ACCESS_KEY=s", "PATH=/bin"}),
            (Argv{"env", "AWS_SECRET_ACCESS_KEY=<redacted>", "PATH=/bin"}));
  EXPECT_EQ(redact_cmdline({"x", "--Password"}), (Argv{"x", "--Password"}));  // nothing follows
}

TEST(CmdlineRedaction, UrlPasswords) {
  EXPECT_EQ(redact_cmdline({"curl", "https://user:pw@host:8443/path?q=1"}),
            (Argv{"curl", "https://user:<redacted>@host:8443/path?q=1"}));
  EXPECT_EQ(redact_cmdline({"curl", "https://host:8443/a@b"}), (Argv{"curl", "https://host:8443/a@b"}));
}

TEST(CmdlineRedaction, OrdinaryArgumentsAndArgv0AreKept) {
  Argv plain = {"/usr/sbin/td-agent", "-q", "--config", "/etc/td-agent/td-agent.conf", "/var/lib/kubelet"};
  EXPECT_EQ(redact_cmdline(plain), plain);
  EXPECT_EQ(redact_cmdline({"--password=argv0-is-the-program"}), (Argv{"--password=argv0-is-the-program"}));
  EXPECT_EQ(redact_cmdline({}), Argv{});
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "config/host_paths.h"

#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include "cli/host_paths_options.h"

namespace mountleak {
namespace {

TEST(HostPaths, DefaultsLiveUnderHostRoot) {
  HostPaths p;
  EXPECT_EQ(p.proc(), "/proc");
  EXPECT_EQ(p.kubelet(), "/var/lib/kubelet");
  p.host_root = "/host/";
  EXPECT_EQ(p.proc(), "/host/proc");
  EXPECT_EQ(p.sys(), "/host/sys");
  EXPECT_EQ(p.kubelet(), "/host/var/lib/kubelet");
  EXPECT_EQ(p.containerd(), "/host/run/containerd/io.containerd.runtime.v2.task");
  EXPECT_EQ(p.crio(), "/host/run/containers/storage/overlay-containers");
  EXPECT_EQ(p.docker(), "/host/var/lib/docker");
  EXPECT_EQ(p.pod_logs(), "/host/var/log/pods");
}

TEST(HostPaths, ExplicitPathsAreNotPrefixed) {
  HostPaths p;
  p.host_root = "/host";
  p.kubelet_root = "/tmp/k";
  EXPECT_EQ(p.kubelet(), "/tmp/k");
}

TEST(HostPaths, DeviceGlobs) {
  HostPaths p;
  EXPECT_TRUE(p.tracks_device("rbd4"));
  EXPECT_FALSE(p.tracks_device("loop0"));
  EXPECT_FALSE(p.tracks_device("sda"));
  p.device_globs = {"rbd*", "loop1?"};
  EXPECT_TRUE(p.tracks_device("loop12"));
  EXPECT_FALSE(p.tracks_device("loop1"));
}

TEST(HostPaths, CommandLineOptions) {
  CLI::App app;
  HostPaths p;
  add_host_path_options(app, p);
  app.parse(std::vector<std::string>{"loop*,rbd*", "--devices", "/x", "--host-root"});
  EXPECT_EQ(p.host_root, "/x");
  ASSERT_EQ(p.device_globs.size(), 2u);
  EXPECT_EQ(p.device_globs[0], "loop*");
  EXPECT_EQ(p.device_globs[1], "rbd*");
}

}  // namespace
}  // namespace mountleak

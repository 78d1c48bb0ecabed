// SPDX-License-Identifier: Apache-2.0
// Pod labels, for trace --release-scope label=KEY=VALUE: kubelet puts them on
// the pod's sandbox only, so they are read from the sandbox's record (CRI-O,
// docker) and a container's record names its sandbox; containerd writes
// none. Bounded and typed as hostile input.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "resolve/runtime_metadata.h"

namespace mountleak {
namespace {

using nlohmann::json;

std::string crio_config(bool sandbox, const json& labels) {
  json a = {{"io.kubernetes.cri-o.ContainerType", sandbox ? "sandbox" : "container"},
            {"io.kubernetes.cri-o.SandboxID", std::string(64, 'a')},
            {"io.kubernetes.cri-o.Labels", labels.dump()},
            {"io.kubernetes.pod.name", "fluentd-x7k2p"},
            {"io.kubernetes.pod.namespace", "logging"},
            {"io.kubernetes.pod.uid", "uid-1"}};
  if (!sandbox) a["io.kubernetes.container.name"] = "fluentd";
  return json{{"annotations", a}, {"mounts", json::array()}}.dump();
}

TEST(PodLabels, ACrioSandboxCarriesThePodsLabelsAndAContainerNamesItsSandbox) {
  auto sandbox = parse_oci_config(crio_config(true, {{"app", "fluentd"}, {"io.kubernetes.pod.name", "fluentd-x7k2p"}}),
                                  "s/config.json", "cri-o");
  ASSERT_TRUE(sandbox) << sandbox.error().message;
  ASSERT_TRUE(sandbox->pod);
  EXPECT_EQ(sandbox->pod->labels.at("app"), "fluentd");
  auto container = parse_oci_config(crio_config(false, {{"io.kubernetes.container.name", "fluentd"}}),
                                    "c/config.json", "cri-o");
  ASSERT_TRUE(container) << container.error().message;
  ASSERT_TRUE(container->pod);
  EXPECT_TRUE(container->pod->labels.empty()) << "a container's Labels are kubelet's, not the pod's";
  EXPECT_EQ(container->sandbox_id, std::string(64, 'a'));
}

TEST(PodLabels, ContainerdWritesNone) {
  json a = {{"io.kubernetes.cri.container-type", "sandbox"},
            {"io.kubernetes.cri.sandbox-name", "p"},
            {"io.kubernetes.cri.sandbox-namespace", "logging"},
            {"io.kubernetes.cri.sandbox-uid", "u"},
            {"io.kubernetes.cri-o.Labels", json{{"app", "x"}}.dump()}};  // not containerd's: ignored
  auto m = parse_oci_config(json{{"annotations", a}}.dump(), "c/config.json", "containerd");
  ASSERT_TRUE(m) << m.error().message;
  ASSERT_TRUE(m->pod);
  EXPECT_TRUE(m->pod->labels.empty());
}

TEST(PodLabels, ADockershimSandboxCarriesThemAndAContainerNamesItsSandbox) {
  auto config = [](bool sandbox) {
    json labels = {{"io.kubernetes.pod.name", "fluentd-x7k2p"},
                   {"io.kubernetes.pod.namespace", "logging"},
                   {"io.kubernetes.pod.uid", "uid-1"},
                   {"io.kubernetes.docker.type", sandbox ? "podsandbox" : "container"}};
    if (sandbox) labels["app"] = "fluentd";
    else labels["io.kubernetes.sandbox.id"] = std::string(64, 'b');
    return json{{"ID", std::string(64, sandbox ? 'b' : 'c')}, {"Config", {{"Labels", labels}}}}.dump();
  };
  auto sandbox = parse_docker_config(config(true), "s/config.v2.json");
  ASSERT_TRUE(sandbox) << sandbox.error().message;
  EXPECT_EQ(sandbox->pod->labels.at("app"), "fluentd");
  auto container = parse_docker_config(config(false), "c/config.v2.json");
  ASSERT_TRUE(container) << container.error().message;
  EXPECT_TRUE(container->pod->labels.empty());
  EXPECT_EQ(container->sandbox_id, std::string(64, 'b'));
}

TEST(PodLabels, WhatNoKubeletWroteIsLeftOut) {
  json labels = {{"app", "fluentd"},
                 {"number", 7},
                 {"nested", {{"a", "b"}}},
                 {"long-value", std::string(64, 'v')},
                 {std::string(318, 'k'), "v"}};
  auto m = parse_oci_config(crio_config(true, labels), "s/config.json", "cri-o");
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->pod->labels.size(), 1u);
  EXPECT_EQ(m->pod->labels.count("app"), 1u);
  // Labels that are not JSON at all: none, and the record still reads.
  json a = json::parse(crio_config(true, {}))["annotations"];
  a["io.kubernetes.cri-o.Labels"] = "{not json";
  auto bad = parse_oci_config(json{{"annotations", a}}.dump(), "s/config.json", "cri-o");
  ASSERT_TRUE(bad) << bad.error().message;
  EXPECT_TRUE(bad->pod->labels.empty());
}

}  // namespace
}  // namespace mountleak

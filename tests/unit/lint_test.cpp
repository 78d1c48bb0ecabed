// SPDX-License-Identifier: Apache-2.0
// mountleak lint's judgement on manifests: which hostPath mounts leak, which
// do not, every kind that carries a pod spec, and input that tries to hurt.

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <string>

#include "findings/kubelet_cover.h"
#include "lint/manifest_inputs.h"
#include "lint/manifest_lint.h"
#include "output/lint_report.h"

namespace mountleak {
namespace {

const std::string kData = std::string(MOUNTLEAK_TEST_DATA) + "/lint/";

LintResult lint(const std::vector<std::string>& inputs, LintOptions options = {}) {
  LintResult result;
  lint_inputs(inputs, options, result);
  return result;
}

LintResult lint_string(const std::string& yaml, LintOptions options = {}) {
  LintResult result;
  lint_text(yaml, "test.yaml", options, result);
  return result;
}

TEST(HostPathCover, NormalisesLexically) {
  EXPECT_EQ(normalize_host_path("/var//lib/./kubelet/"), "/var/lib/kubelet");
  EXPECT_EQ(normalize_host_path("/var/lib/../lib/kubelet"), "/var/lib/kubelet");
  EXPECT_EQ(normalize_host_path("/../.."), "/");
  EXPECT_EQ(normalize_host_path("//"), "/");
  EXPECT_EQ(normalize_host_path("var/lib"), std::nullopt);
  EXPECT_EQ(normalize_host_path(""), std::nullopt);
}

TEST(HostPathCover, AncestorsTheRootAndBelowCoverNeighboursDoNot) {
  const std::vector<std::string> roots{"/var/lib/kubelet"};
  std::string root;
  for (const char* p : {"/", "/var", "/var/lib", "/var/lib/kubelet"})
    EXPECT_EQ(covers_kubelet_root(p, roots, root), Cover::kAncestor) << p;
  for (const char* p : {"/var/lib/kubelet/pods", "/var/lib/kubelet/plugins/kubernetes.io"})
    EXPECT_EQ(covers_kubelet_root(p, roots, root), Cover::kBelow) << p;
  for (const char* p : {"/var/log", "/var/lib/kubelet-other", "/var/li", "/etc"})
    EXPECT_EQ(covers_kubelet_root(p, roots, root), Cover::kNone) << p;
}

TEST(HostPathCover, BelowTheRootOnlyWhereTheKubeletMountsVolumes) {
  const std::vector<std::string> roots{"/var/lib/kubelet"};
  std::string root;
  for (const char* p : {"/var/lib/kubelet/pods", "/var/lib/kubelet/plugins", "/var/lib/kubelet/plugins/kubernetes.io",
                        "/var/lib/kubelet/plugins/kubernetes.io/csi/pv", "/var/lib/kubelet/plugins/kubernetes.io/rbd/mounts"})
    EXPECT_EQ(covers_kubelet_root(p, roots, root), Cover::kBelow) << p;
  // Sockets and state, and one pod's own directory.
  for (const char* p : {"/var/lib/kubelet/plugins_registry", "/var/lib/kubelet/plugins/rbd.csi.ceph.com",
                        "/var/lib/kubelet/plugins/kubernetes.io-x", "/var/lib/kubelet/device-plugins",
                        "/var/lib/kubelet/pod-resources", "/var/lib/kubelet/pods/0b5c/volumes", "/var/lib/kubelet/podsx"})
    EXPECT_EQ(covers_kubelet_root(p, roots, root), Cover::kNone) << p;
  EXPECT_EQ(covers_kubelet_root("/pods", {"/"}, root), Cover::kBelow);  // a kubelet root at "/" (--root-dir /)
}

TEST(Lint, TheFieldReportsCollectorIsFlaggedWithWhereAndTheFix) {
  LintResult r = lint({kData + "fluentd-daemonset.yaml"});
  ASSERT_EQ(r.findings.size(), 1u);
  const LintFinding& f = r.findings[0];
  EXPECT_EQ(f.object_kind, "DaemonSet");
  EXPECT_EQ(f.object_namespace, "kube-system");
  EXPECT_EQ(f.object_name, "fluentd");
  EXPECT_EQ(f.container, "fluentd");
  EXPECT_EQ(f.volume, "kubelet");
  EXPECT_EQ(f.host_path, "/var/lib/kubelet");
  EXPECT_EQ(f.mount_path, "/var/lib/kubelet");
  EXPECT_EQ(f.line, 21u);
  EXPECT_EQ(f.document, 1u);
  EXPECT_EQ(f.cover, Cover::kAncestor);
  EXPECT_TRUE(r.problems.empty());
  const std::string text = lint_finding_text(f);
  EXPECT_NE(text.find("fluentd-daemonset.yaml:21:"), std::string::npos) << text;
  EXPECT_NE(text.find("mountPropagation: HostToContainer"), std::string::npos) << text;
}

TEST(Lint, HostToContainerAndBidirectionalAreFine) {
  LintResult r = lint({kData + "fixed-daemonset.yaml"});
  EXPECT_TRUE(r.findings.empty());
  EXPECT_EQ(r.pod_specs, 1u);
}

TEST(Lint, HelmTemplateOutputEveryKindAndSubPath) {
  LintResult r = lint({kData + "helm-template.yaml"});
  EXPECT_TRUE(r.problems.empty());
  EXPECT_EQ(r.documents, 3u);
  EXPECT_EQ(r.pod_specs, 2u);
  ASSERT_EQ(r.findings.size(), 3u);
  // The init container's explicit None, the pods directory below the root;
  // the subPath to /var/log is not flagged.
  EXPECT_EQ(r.findings[0].container_field, "initContainers");
  EXPECT_EQ(r.findings[0].propagation, "None");
  EXPECT_EQ(r.findings[0].host_path, "/");
  EXPECT_EQ(r.findings[1].container, "backup");
  EXPECT_EQ(r.findings[1].host_path, "/var/lib/kubelet/pods");
  EXPECT_EQ(r.findings[1].cover, Cover::kBelow);
  EXPECT_EQ(r.findings[2].object_kind, "CronJob");
  EXPECT_EQ(r.findings[2].object_namespace, "ops");
  EXPECT_EQ(r.findings[2].host_path, "/var/lib");
  EXPECT_EQ(r.findings[2].document, 3u);
}

TEST(Lint, JsonListsAreRead) {
  LintResult r = lint({kData + "list.json"});
  EXPECT_EQ(r.pod_specs, 2u);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].object_kind, "Pod");
  EXPECT_EQ(r.findings[0].object_name, "debug");
}

TEST(Lint, ABrokenDocumentIsAProblemAndTheOthersAreStillLinted) {
  LintResult r = lint({kData + "broken-middle.yaml"});
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_EQ(r.findings[0].object_name, "first");
  EXPECT_EQ(r.findings[1].object_name, "third");
  EXPECT_EQ(r.findings[1].document, 3u);
  EXPECT_EQ(r.findings[1].line, 17u);  // counted from the top of the file, not of its document
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].document, 2u);
  EXPECT_GE(r.problems[0].line, 9u);
  EXPECT_LE(r.problems[0].line, 11u);
}

TEST(Lint, ADirectoryIsReadInNameOrder) {
  LintResult r = lint({kData});
  EXPECT_EQ(r.files, 5u);
  ASSERT_EQ(r.findings.size(), 7u);
  EXPECT_NE(r.findings[0].file.find("broken-middle.yaml"), std::string::npos);
}

TEST(Lint, AnotherKubeletRoot) {
  LintOptions options;
  options.kubelet_roots = {"/data/kubelet"};
  LintResult r = lint_string(R"(
kind: Pod
metadata: {name: p}
spec:
  containers: [{name: c, volumeMounts: [{name: d, mountPath: /d}, {name: k, mountPath: /k}]}]
  volumes: [{name: d, hostPath: {path: /data}}, {name: k, hostPath: {path: /var/lib/kubelet}}]
)",
                             options);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].volume, "d");
}

TEST(Lint, AliasesThatMultiplyAreBoundedNotAHang) {
  // 64 containers, each 64 mounts, each of the same aliased list: a small
  // document that names 4096 x 64 mounts.
  std::string yaml = "kind: Pod\nspec:\n  volumes: [{name: k, hostPath: {path: /}}]\n"
                     "  x-m: &m [";
  for (int i = 0; i < 64; ++i) yaml += std::string(i ? ", " : "") + "{name: k, mountPath: /k}";
  yaml += "]\n  x-c: &c {name: c, volumeMounts: *m}\n  containers: [";
  for (int i = 0; i < 4096; ++i) yaml += std::string(i ? ", " : "") + "*c";
  yaml += "]\n";
  LintOptions options;
  options.max_items_per_document = 10000;
  const auto start = std::chrono::steady_clock::now();
  LintResult r = lint_string(yaml, options);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("aliases"), std::string::npos);
  EXPECT_LT(r.findings.size(), 10000u);
}

TEST(Lint, DeepNestingIsAProblemNotACrash) {
  std::string yaml = "kind: Pod\nspec: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  LintResult r = lint_string(yaml);
  EXPECT_EQ(r.problems.size(), 1u);
}

TEST(Lint, OversizedAndMissingInputsAreProblems) {
  LintOptions options;
  options.max_input_bytes = 100;
  LintResult r = lint({kData + "fluentd-daemonset.yaml", kData + "no-such-file.yaml"}, options);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_NE(r.problems[0].message.find("larger than"), std::string::npos);
  EXPECT_NE(r.problems[1].message.find("cannot open"), std::string::npos);
}

TEST(Lint, HostileNamesArePrintedSafely) {
  LintResult r = lint_string("kind: Pod\nmetadata: {name: \"evil\\e[2J\\nforged\"}\nspec:\n"
                             "  containers: [{name: c, volumeMounts: [{name: k, mountPath: /k}]}]\n"
                             "  volumes: [{name: k, hostPath: {path: /}}]\n");
  ASSERT_EQ(r.findings.size(), 1u);
  const std::string text = lint_finding_text(r.findings[0]);
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_EQ(text.find("\nforged"), std::string::npos);
}

// Manifests shaped like the DaemonSets of common log collectors and node
// agents (tests/data/manifests/), each with exactly the findings expected.
struct ExpectedFinding {
  std::string container, volume, host_path, mount_path;
  Cover cover;
  size_t line;
};

void expect_exactly(const std::string& file, const std::vector<ExpectedFinding>& expected) {
  SCOPED_TRACE(file);
  LintResult r = lint({std::string(MOUNTLEAK_TEST_DATA) + "/manifests/" + file});
  EXPECT_TRUE(r.problems.empty()) << r.problems.front().message;
  EXPECT_GE(r.pod_specs, 1u);
  ASSERT_EQ(r.findings.size(), expected.size()) << (r.findings.empty() ? "" : lint_finding_text(r.findings[0]));
  for (size_t i = 0; i < expected.size(); ++i) {
    const LintFinding& f = r.findings[i];
    EXPECT_EQ(f.object_kind, "DaemonSet");
    EXPECT_EQ(f.container, expected[i].container);
    EXPECT_EQ(f.volume, expected[i].volume);
    EXPECT_EQ(f.host_path, expected[i].host_path);
    EXPECT_EQ(f.mount_path, expected[i].mount_path);
    EXPECT_EQ(f.cover, expected[i].cover);
    EXPECT_EQ(f.line, expected[i].line);
    EXPECT_EQ(f.propagation, "");
    EXPECT_NE(lint_fix(f).find("add `mountPropagation: HostToContainer` to the volumeMount of " + expected[i].volume),
              std::string::npos);
  }
}

TEST(LintManifests, FluentdWithTheKubeletRootReadOnlyIsTheFieldReportsLeak) {
  // /var/log and docker's containers directory are fine; readOnly does not
  // help the kubelet root.
  expect_exactly("fluentd.yaml",
                 {{"fluentd", "varlibkubelet", "/var/lib/kubelet", "/var/lib/kubelet", Cover::kAncestor, 45}});
}

TEST(LintManifests, FilebeatsHostfsIsTheWholeNodeWithPrivatePropagation) {
  // Its registry under /var/lib/filebeat-data is a neighbour of the kubelet root.
  expect_exactly("filebeat.yaml", {{"filebeat", "hostfs", "/", "/hostfs", Cover::kAncestor, 39}});
}

TEST(LintManifests, FluentBitAndPromtailReadLogsOnly) {
  expect_exactly("fluent-bit.yaml", {});
  expect_exactly("promtail.yaml", {});
}

TEST(LintManifests, NodeExportersRootWithHostToContainerIsFine) {
  expect_exactly("node-exporter.yaml", {});
  // The same DaemonSet without the propagation is a finding.
  std::ifstream in(std::string(MOUNTLEAK_TEST_DATA) + "/manifests/node-exporter.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string line = "              mountPropagation: HostToContainer\n";
  ASSERT_NE(text.find(line), std::string::npos);
  text.erase(text.find(line), line.size());
  LintResult r = lint_string(text);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].volume, "root");
  EXPECT_EQ(r.findings[0].mount_path, "/host/root");
}

TEST(LintManifests, CsiNodePluginsBidirectionalDirsAndSocketDirsAreFine) {
  // Bidirectional on plugins and pods; the driver's socket directory under
  // plugins/ and plugins_registry hold no mounts.
  expect_exactly("csi-node-plugin.yaml", {});
  // A plugin that forgot Bidirectional on the pods directory is a finding.
  std::ifstream in(std::string(MOUNTLEAK_TEST_DATA) + "/manifests/csi-node-plugin.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string line = "              mountPropagation: Bidirectional\n";
  ASSERT_NE(text.find(line), std::string::npos);
  text.erase(text.find(line), line.size());
  LintResult r = lint_string(text);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].volume, "mountpoint-dir");
  EXPECT_EQ(r.findings[0].cover, Cover::kBelow);
}

TEST(LintManifests, TheWholeDirectoryInNameOrder) {
  LintResult r = lint({std::string(MOUNTLEAK_TEST_DATA) + "/manifests"});
  EXPECT_EQ(r.files, 6u);
  EXPECT_TRUE(r.problems.empty());
  ASSERT_EQ(r.findings.size(), 2u);
  EXPECT_NE(r.findings[0].file.find("filebeat.yaml"), std::string::npos);
  EXPECT_NE(r.findings[1].file.find("fluentd.yaml"), std::string::npos);
}

TEST(Lint, JsonLinesEndWithASummary) {
  LintResult r = lint({kData + "fluentd-daemonset.yaml"});
  auto lines = lint_json_lines(r);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("\"event\":\"lint_finding\""), std::string::npos);
  EXPECT_NE(lines[1].find("\"event\":\"lint_summary\""), std::string::npos);
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// `mountleak lint` as CI runs it: the exit status says clean (0), findings
// (1) or an input it could not read (2), and -o json is one object a line.
// No root needed; it lives here for run_mountleak.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "mountleak_process.h"

namespace mountleak::testing {
namespace {

namespace fs = std::filesystem;

class LintCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mountleak-lint-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

const char* kLeaky = R"(kind: DaemonSet
metadata: {name: fluentd, namespace: kube-system}
spec:
  template:
    spec:
      containers: [{name: fluentd, volumeMounts: [{name: k, mountPath: /var/lib/kubelet}]}]
      volumes: [{name: k, hostPath: {path: /var/lib/kubelet}}]
)";

const char* kFixed = R"(kind: DaemonSet
metadata: {name: fluentd, namespace: kube-system}
spec:
  template:
    spec:
      containers:
        - {name: fluentd, volumeMounts: [{name: k, mountPath: /var/lib/kubelet, mountPropagation: HostToContainer}]}
      volumes: [{name: k, hostPath: {path: /var/lib/kubelet}}]
)";

TEST_F(LintCommand, FindingsExitOneCleanExitsZero) {
  RunResult leaky = run_mountleak({"lint", write("leaky.yaml", kLeaky)});
  EXPECT_EQ(leaky.exit_code, 1) << leaky.out << leaky.err;
  EXPECT_NE(leaky.out.find("DaemonSet kube-system/fluentd, container fluentd"), std::string::npos) << leaky.out;
  EXPECT_NE(leaky.out.find("fix: add `mountPropagation: HostToContainer`"), std::string::npos) << leaky.out;
  RunResult fixed = run_mountleak({"lint", write("fixed.yaml", kFixed)});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_EQ(fixed.out, "");
}

TEST_F(LintCommand, AnUnreadableInputExitsTwoAndTheRestIsStillLinted) {
  write("a.yaml", kLeaky);
  write("b.yaml", "kind: Pod\nspec: [unclosed\n");
  RunResult r = run_mountleak({"lint", dir_});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find("fluentd"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("b.yaml:"), std::string::npos) << r.err;
}

// A manifest edited by hand, one line mis-indented: exit 2, and stderr
// names the file and the line to look at.
TEST_F(LintCommand, BadYamlExitsTwoNamingFileAndLine) {
  const std::string path = write("broken.yaml",
                                 "apiVersion: apps/v1\n"
                                 "kind: DaemonSet\n"
                                 "metadata:\n"
                                 "  name: broken\n"
                                 "spec:\n"
                                 "  template:\n"
                                 "    spec:\n"
                                 "      containers:\n"
                                 "        - name: a\n"
                                 "          image: busybox\n"
                                 "         volumeMounts: [{name: k, mountPath: /k}]\n"
                                 "      volumes: [{name: k, hostPath: {path: /var/lib/kubelet}}]\n");
  RunResult r = run_mountleak({"lint", path});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find(path + ":11 (document 1): not YAML"), std::string::npos) << r.err;
  // -o json says it on stdout, as a lint_problem line.
  RunResult j = run_mountleak({"lint", "-o", "json", path});
  EXPECT_EQ(j.exit_code, 2) << j.out << j.err;
  bool named = false;
  for (const auto& line : j.json_lines())
    named |= line.value("event", "") == "lint_problem" && line.value("file", "") == path && line.value("line", 0) == 11;
  EXPECT_TRUE(named) << j.out;
}

TEST_F(LintCommand, JsonIsOneObjectPerLineEndingWithTheSummary) {
  RunResult r = run_mountleak({"lint", "-o", "json", write("leaky.yaml", kLeaky)});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  auto lines = r.json_lines();
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0]["event"], "lint_finding");
  EXPECT_EQ(lines[0]["container"], "fluentd");
  EXPECT_EQ(lines[0]["line"], 6);
  EXPECT_EQ(lines[1]["event"], "lint_summary");
  EXPECT_EQ(lines[1]["findings"], 1);
}

TEST_F(LintCommand, NoInputIsAnError) {
  RunResult r = run_mountleak({"lint"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
}

}  // namespace
}  // namespace mountleak::testing

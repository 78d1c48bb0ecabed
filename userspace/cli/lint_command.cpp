// SPDX-License-Identifier: Apache-2.0
#include "cli/lint_command.h"

#include <fmt/core.h>

#include <memory>

#include "cli/common_options.h"
#include "cli/option_checks.h"
#include "lint/manifest_inputs.h"
#include "output/lint_report.h"

namespace mountleak {

namespace {

struct LintCommandOptions {
  std::vector<std::string> inputs;
  std::vector<std::string> kubelet_roots;
  OutputFormat output = OutputFormat::kTable;
};

int run_lint(const LintCommandOptions& options) {
  LintOptions lint;
  if (!options.kubelet_roots.empty()) {
    lint.kubelet_roots.clear();
    for (const std::string& root : options.kubelet_roots)
      if (auto normal = normalize_host_path(root)) lint.kubelet_roots.push_back(*normal);
  }
  LintResult result;
  lint_inputs(options.inputs, lint, result);
  if (options.output == OutputFormat::kJson) {
    for (const std::string& line : lint_json_lines(result)) fmt::print("{}\n", line);
  } else {
    for (const LintFinding& f : result.findings) fmt::print("{}\n", lint_finding_text(f));
    for (const LintProblem& p : result.problems) fmt::print(stderr, "{}", lint_problem_text(p));
    fmt::print(stderr, "{}", lint_summary_text(result));
  }
  if (!result.problems.empty()) return kExitError;
  return result.findings.empty() ? kExitOk : kExitFindings;
}

}  // namespace

void register_lint_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<LintCommandOptions>();
  CLI::App* cmd = app.add_subcommand("lint", "Flag hostPath mounts in Kubernetes manifests that will leak rbd volumes");
  cmd->footer(
      "Reads Kubernetes manifests (YAML or JSON, many documents per file; Pod, Deployment,\n"
      "DaemonSet, StatefulSet, ReplicaSet, ReplicationController, Job, CronJob, PodTemplate and\n"
      "their Lists) and flags every container that mounts a hostPath volume covering the kubelet\n"
      "root (/, /var, /var/lib, the root itself, or pods/ or plugins/ below it) without\n"
      "mountPropagation: HostToContainer (or Bidirectional). Such a container keeps private\n"
      "copies of the node's volume mounts, and `rbd unmap` fails while it runs: the leak\n"
      "`mountleak trace` and `scan` find after the fact. A readOnly mount leaks the same way.\n\n"
      "Exit status (for CI): 0 clean, 1 findings, 2 a file could not be read or parsed\n"
      "(everything else is still linted and reported).\n\n"
      "Examples:\n"
      "  mountleak lint deploy/                       (every *.yaml, *.yml, *.json below it)\n"
      "  helm template fluentd fluent/fluentd | mountleak lint -\n"
      "  kubectl get ds -A -o json | mountleak lint - -o json\n"
      "  mountleak lint --kubelet-root /data/kubelet manifests/");
  cmd->add_option("inputs", options->inputs, "Files, directories, or - for stdin")->required();
  cmd->add_option("--kubelet-root", options->kubelet_roots,
                  "The kubelet root on your nodes (repeatable) [default: /var/lib/kubelet]")
      ->check(absolute_path());
  add_output_option(*cmd, options->output, "one object per line, then a summary");
  cmd->callback([options, &action] { action = [options] { return run_lint(*options); }; });
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "output/lint_report.h"

#include <fmt/core.h>

#include "output/json_line.h"
#include "output/printable.h"

namespace mountleak {

namespace {

std::string where(const std::string& file, size_t line) {
  return line > 0 ? fmt::format("{}:{}", printable(file), line) : printable(file);
}

std::string object_name(const LintFinding& f) {
  const std::string name = f.object_name.empty() ? "(unnamed)" : printable(f.object_name);
  return f.object_namespace.empty() ? name : printable(f.object_namespace) + "/" + name;
}


std::string why(const LintFinding& f) {
  if (f.cover == Cover::kBelow)
    return fmt::format("it is below the kubelet root {}: every volume mounted there", printable(f.kubelet_root));
  return fmt::format("it covers the kubelet root {}: every volume mounted on the node", printable(f.kubelet_root));
}

}  // namespace

std::string lint_finding_text(const LintFinding& f) {
  const std::string propagation = f.propagation.empty() ? "no mountPropagation (None, private)"
                                                        : "mountPropagation: " + printable(f.propagation);
  return fmt::format(
      "{}: {} {}, {} {}: hostPath {}{} (volume {}) mounted at {} with {}\n"
      "  {} is copied into the container and stays busy after the kubelet unmounts it "
      "(rbd unmap: device or resource busy)\n"
      "  fix: {}\n",
      where(f.file, f.line), printable(f.object_kind), object_name(f),
      container_role(f.container_field), printable(f.container),
      printable(f.host_path), f.sub_path.empty() ? "" : " (subPath " + printable(f.sub_path) + ")", printable(f.volume),
      printable(f.mount_path), propagation, why(f), printable(lint_fix(f)));
}

std::string lint_problem_text(const LintProblem& p) {
  const std::string doc = p.document > 0 ? fmt::format(" (document {})", p.document) : "";
  return fmt::format("mountleak lint: {}{}: {}\n", where(p.file, p.line), doc, printable(p.message));
}

std::string lint_summary_text(const LintResult& r) {
  return fmt::format("{} finding(s) in {} file(s): {} document(s), {} pod spec(s) read{}\n", r.findings.size(),
                     r.files, r.documents, r.pod_specs,
                     r.problems.empty() ? "" : fmt::format("; {} problem(s)", r.problems.size()));
}

std::vector<std::string> lint_json_lines(const LintResult& r) {
  std::vector<std::string> lines;
  for (const LintFinding& f : r.findings)
    lines.push_back(json_line({{"event", "lint_finding"},
                               {"file", f.file},
                               {"document", f.document},
                               {"line", f.line},
                               {"kind", f.object_kind},
                               {"namespace", f.object_namespace},
                               {"name", f.object_name},
                               {"container", f.container},
                               {"container_field", f.container_field},
                               {"volume", f.volume},
                               {"host_path", f.host_path},
                               {"sub_path", f.sub_path},
                               {"mount_path", f.mount_path},
                               {"mount_propagation", f.propagation},
                               {"kubelet_root", f.kubelet_root},
                               {"relation", std::string(cover_name(f.cover))},
                               {"fix", lint_fix(f)}}));
  for (const LintProblem& p : r.problems)
    lines.push_back(json_line(
        {{"event", "lint_problem"}, {"file", p.file}, {"document", p.document}, {"line", p.line}, {"message", p.message}}));
  lines.push_back(json_line({{"event", "lint_summary"},
                             {"files", r.files},
                             {"documents", r.documents},
                             {"pod_specs", r.pod_specs},
                             {"findings", r.findings.size()},
                             {"problems", r.problems.size()}}));
  return lines;
}

}  // namespace mountleak

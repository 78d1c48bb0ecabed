// SPDX-License-Identifier: Apache-2.0
#pragma once

// The judgement of `mountleak lint`: in every pod spec of a manifest
// (Pod, Deployment, DaemonSet, StatefulSet, ReplicaSet, ReplicationController,
// Job, CronJob, PodTemplate, and any *List of them), each container's mount
// of a hostPath volume that covers the kubelet root without
// `mountPropagation: HostToContainer` (or Bidirectional). Such a container
// takes private copies of every volume mounted under the kubelet root, and
// keeps them after the kubelet unmounts them: the field report's leak.
//
// Manifests come from anyone (a chart, a pull request): the YAML parser has
// a depth guard, and the walk counts what it visits, so aliases that
// multiply a small file into millions of mounts cost a bounded walk and an
// error, never a hang.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "findings/kubelet_cover.h"

namespace YAML {
class Node;
}

namespace mountleak {

struct LintOptions {
  std::vector<std::string> kubelet_roots{"/var/lib/kubelet"};  // normalised, absolute
  size_t max_input_bytes = size_t{16} << 20;                   // per file (and stdin)
  size_t max_items_per_document = 100000;  // containers, volumes and mounts walked
};

struct LintFinding {
  std::string file;
  size_t document = 0;  // 1-based, within the file
  size_t line = 0;      // of the volumeMount, 1-based; 0 if unknown
  std::string object_kind, object_namespace, object_name;
  std::string container;
  std::string container_field;  // containers, initContainers or ephemeralContainers
  std::string volume, host_path, mount_path;
  std::string sub_path;     // as written, if any
  std::string propagation;  // as written; empty when the field is absent
  Cover cover = Cover::kNone;
  std::string kubelet_root;  // the root it covers
};

struct LintProblem {
  std::string file;
  size_t document = 0;  // 0: the file as a whole
  size_t line = 0;
  std::string message;
};

struct LintResult {
  std::vector<LintFinding> findings;
  std::vector<LintProblem> problems;
  size_t files = 0;
  size_t documents = 0;
  size_t pod_specs = 0;
};

// Lints one or more YAML (or JSON) documents. A document that does not
// parse is a problem; the others are still linted.
void lint_text(std::string_view text, const std::string& file, const LintOptions& options, LintResult& result);

// "container", "init container" or "ephemeral container".
std::string container_role(const std::string& container_field);

// The fix for a finding, in words.
std::string lint_fix(const LintFinding& finding);

}  // namespace mountleak

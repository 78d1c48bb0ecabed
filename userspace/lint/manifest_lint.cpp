// SPDX-License-Identifier: Apache-2.0
#include "lint/manifest_lint.h"

#include <yaml-cpp/yaml.h>

#include <fmt/core.h>

#include <map>

namespace mountleak {

namespace {

// Lookups that never insert and never throw: yaml-cpp answers a missing
// key with an invalid node that throws on any question but IsDefined(), so
// absence is turned into a valid, undefined node at once.
YAML::Node absent() { return YAML::Node(YAML::NodeType::Undefined); }

YAML::Node child(const YAML::Node& node, const char* key) {
  if (!node.IsDefined() || !node.IsMap()) return absent();
  YAML::Node value = node[key];
  return value.IsDefined() ? value : absent();
}

std::string scalar(const YAML::Node& node) {
  return node.IsDefined() && node.IsScalar() ? node.Scalar() : std::string();
}

size_t line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : static_cast<size_t>(mark.line) + 1;
}

constexpr int kMaxListDepth = 4;

struct HostPathVolume {
  std::string host_path;  // normalised
};

class DocumentLint {
 public:
  // `first_line`: where the document's text begins in the file (0-based),
  // when it was parsed apart from the others.
  DocumentLint(const std::string& file, size_t document, size_t first_line, const LintOptions& options,
               LintResult& result)
      : file_(file), document_(document), first_line_(first_line), options_(options), result_(result) {}

  void object(const YAML::Node& node, int depth) {
    if (!node.IsMap() || exhausted()) return;
    const std::string kind = scalar(child(node, "kind"));
    if (kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0) {
      if (depth >= kMaxListDepth) {
        problem(line_of(node), "Lists nested deeper than " + std::to_string(kMaxListDepth) + "; not read");
        return;
      }
      const YAML::Node items = child(node, "items");
      if (items.IsSequence())
        for (const YAML::Node& item : items) {
          if (!count()) return;
          object(item, depth + 1);
        }
      return;
    }
    const YAML::Node spec = pod_spec_of(kind, node);
    if (!spec.IsMap()) return;
    ++result_.pod_specs;
    const YAML::Node metadata = child(node, "metadata");
    pod_spec(spec, kind, scalar(child(metadata, "namespace")), scalar(child(metadata, "name")));
  }

 private:
  static YAML::Node pod_spec_of(const std::string& kind, const YAML::Node& node) {
    if (kind == "Pod") return child(node, "spec");
    if (kind == "PodTemplate") return child(child(node, "template"), "spec");
    if (kind == "Deployment" || kind == "DaemonSet" || kind == "StatefulSet" || kind == "ReplicaSet" ||
        kind == "ReplicationController" || kind == "Job")
      return child(child(child(node, "spec"), "template"), "spec");
    if (kind == "CronJob") return child(child(child(child(child(node, "spec"), "jobTemplate"), "spec"), "template"), "spec");
    return absent();
  }

  void pod_spec(const YAML::Node& spec, const std::string& kind, const std::string& ns, const std::string& name) {
    std::map<std::string, HostPathVolume> host_paths;
    const YAML::Node volumes = child(spec, "volumes");
    if (volumes.IsSequence())
      for (const YAML::Node& volume : volumes) {
        if (!count()) return;
        const std::string path = scalar(child(child(volume, "hostPath"), "path"));
        if (path.empty()) continue;
        auto normal = normalize_host_path(path);
        if (!normal) continue;  // Kubernetes refuses it anyway
        host_paths[scalar(child(volume, "name"))] = HostPathVolume{*normal};
      }
    if (host_paths.empty()) return;
    for (const char* field : {"initContainers", "containers", "ephemeralContainers"}) {
      const YAML::Node containers = child(spec, field);
      if (!containers.IsSequence()) continue;
      for (const YAML::Node& container : containers) {
        if (!count()) return;
        const YAML::Node mounts = child(container, "volumeMounts");
        if (!mounts.IsSequence()) continue;
        for (const YAML::Node& mount : mounts) {
          if (!count()) return;
          auto volume = host_paths.find(scalar(child(mount, "name")));
          if (volume == host_paths.end()) continue;
          LintFinding f;
          f.propagation = scalar(child(mount, "mountPropagation"));
          if (f.propagation == "HostToContainer" || f.propagation == "Bidirectional") continue;
          f.sub_path = scalar(child(mount, "subPath"));
          std::string effective = volume->second.host_path;
          if (!f.sub_path.empty()) {
            auto joined = normalize_host_path(effective + "/" + f.sub_path);
            if (joined) effective = *joined;
          }
          f.cover = covers_kubelet_root(effective, options_.kubelet_roots, f.kubelet_root);
          if (f.cover == Cover::kNone) continue;
          f.file = file_;
          f.document = document_;
          f.line = line_of(mount) + (line_of(mount) > 0 ? first_line_ : 0);
          f.object_kind = kind;
          f.object_namespace = ns;
          f.object_name = name;
          f.container = scalar(child(container, "name"));
          f.container_field = field;
          f.volume = volume->first;
          f.host_path = volume->second.host_path;
          f.mount_path = scalar(child(mount, "mountPath"));
          result_.findings.push_back(std::move(f));
        }
      }
    }
  }

  // Counts one visited item; false (said once) when the budget is spent.
  bool count() {
    if (++items_ <= options_.max_items_per_document) return true;
    if (!exhausted_said_) {
      problem(0, fmt::format("more than {} containers, volumes and mounts (aliases multiplying a small "
                             "document?); the rest of the document is not read",
                             options_.max_items_per_document));
      exhausted_said_ = true;
    }
    return false;
  }
  bool exhausted() const { return items_ > options_.max_items_per_document; }

  void problem(size_t line, std::string message) {
    result_.problems.push_back(LintProblem{file_, document_, line, std::move(message)});
  }

  const std::string& file_;
  size_t document_;
  size_t first_line_;
  const LintOptions& options_;
  LintResult& result_;
  size_t items_ = 0;
  bool exhausted_said_ = false;
};

// Each document of a stream that does not parse as a whole: YAML's "---"
// at the start of a line ends one document and begins the next.
std::vector<std::pair<size_t, std::string_view>> split_documents(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> docs;  // first line (0-based), text
  size_t start = 0, line = 0, doc_line = 0;
  for (size_t i = 0; i <= text.size();) {
    const size_t end = std::min(text.find('\n', i), text.size());
    const std::string_view l = text.substr(i, end - i);
    const bool separator = l.substr(0, 3) == "---" && (l.size() == 3 || l[3] == ' ' || l[3] == '\t' || l[3] == '\r');
    if (separator) {
      if (i > start) docs.emplace_back(doc_line, text.substr(start, i - start));
      start = i;  // the separator belongs to the document it opens
      doc_line = line;
    }
    ++line;
    if (end == text.size()) break;
    i = end + 1;
  }
  if (start < text.size()) docs.emplace_back(doc_line, text.substr(start));
  return docs;
}

bool blank(const YAML::Node& doc) { return doc.IsNull() || !doc.IsDefined(); }

}  // namespace

void lint_text(std::string_view text, const std::string& file, const LintOptions& options, LintResult& result) {
  ++result.files;
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::Exception&) {
    // Lint what parses; name what does not, with its line.
    size_t number = 0;
    for (const auto& [first_line, piece] : split_documents(text)) {
      try {
        YAML::Node doc = YAML::Load(std::string(piece));
        if (blank(doc)) continue;
        ++number;
        ++result.documents;
        DocumentLint(file, number, first_line, options, result).object(doc, 0);
      } catch (const YAML::Exception& e) {
        ++number;
        const size_t line = e.mark.is_null() ? first_line + 1 : first_line + static_cast<size_t>(e.mark.line) + 1;
        result.problems.push_back(LintProblem{file, number, line, "not YAML: " + e.msg + "; document skipped"});
      }
    }
    return;
  }
  size_t number = 0;
  for (const YAML::Node& doc : documents) {
    if (blank(doc)) continue;
    ++number;
    ++result.documents;
    DocumentLint(file, number, 0, options, result).object(doc, 0);
  }
}

std::string container_role(const std::string& field) {
  if (field == "initContainers") return "init container";
  if (field == "ephemeralContainers") return "ephemeral container";
  return "container";
}

std::string lint_fix(const LintFinding& f) {
  return fmt::format("add `mountPropagation: HostToContainer` to the volumeMount of {} in {} {}", f.volume,
                     container_role(f.container_field), f.container);
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "deploy/daemonset_manifest.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <utility>

namespace mountleak::deploy {

namespace {

std::vector<std::string> strings_of(const YAML::Node& seq) {
  std::vector<std::string> out;
  if (!seq || !seq.IsSequence()) return out;
  for (const auto& item : seq) out.push_back(item.as<std::string>());
  return out;
}

std::string string_or_empty(const YAML::Node& node) { return node && node.IsScalar() ? node.as<std::string>() : ""; }

Result<AgentContainer> read_container(const YAML::Node& pod_spec) {
  const YAML::Node containers = pod_spec["containers"];
  if (!containers || !containers.IsSequence()) return Error{"spec.template.spec.containers is not a list", EINVAL};
  for (const auto& c : containers) {
    if (string_or_empty(c["name"]) != "mountleak") continue;
    AgentContainer out;
    out.name = "mountleak";
    out.node = static_cast<const YAML::Node&>(c);
    out.command = strings_of(c["command"]);
    out.args = strings_of(c["args"]);
    const YAML::Node caps = c["securityContext"]["capabilities"];
    if (caps) {
      out.capabilities_add = strings_of(caps["add"]);
      out.capabilities_drop = strings_of(caps["drop"]);
    }
    const YAML::Node volumes = pod_spec["volumes"];
    for (const auto& m : c["volumeMounts"]) {
      AgentMount mount;
      mount.volume = string_or_empty(m["name"]);
      mount.mount_path = string_or_empty(m["mountPath"]);
      mount.read_only = m["readOnly"] && m["readOnly"].as<bool>();
      mount.propagation = string_or_empty(m["mountPropagation"]);
      if (volumes && volumes.IsSequence())
        for (const auto& v : volumes)
          if (string_or_empty(v["name"]) == mount.volume && v["hostPath"])
            mount.host_path = string_or_empty(v["hostPath"]["path"]);
      out.mounts.push_back(std::move(mount));
    }
    return out;
  }
  return Error{"no container named mountleak in the DaemonSet", ENOENT};
}

}  // namespace

std::string deploy_dir() { return MOUNTLEAK_DEPLOY_DIR; }

Result<DaemonSetManifest> load_daemonset(const std::string& path) {
  DaemonSetManifest manifest;
  try {
    manifest.documents = YAML::LoadAllFromFile(path);
  } catch (const YAML::Exception& e) {
    return Error{path + ": " + e.what(), EINVAL};
  }
  try {
    for (const auto& doc : manifest.documents)
      if (doc.IsMap() && string_or_empty(doc["kind"]) == "DaemonSet") manifest.daemonset = doc;
    if (!manifest.daemonset) return Error{path + ": no DaemonSet document", ENOENT};
    manifest.pod_spec = manifest.daemonset["spec"]["template"]["spec"];
    if (!manifest.pod_spec || !manifest.pod_spec.IsMap()) return Error{path + ": no spec.template.spec", EINVAL};
    auto container = read_container(manifest.pod_spec);
    if (!container) return Error{path + ": " + container.error().message, container.error().errno_value};
    manifest.container = std::move(*container);
  } catch (const YAML::Exception& e) {
    // A field of the wrong type (a map where a list belongs, a word where a
    // boolean does).
    return Error{path + ": " + e.what(), EINVAL};
  }
  return manifest;
}

std::string kubernetes_capability_to_linux(const std::string& name) {
  std::string out = "cap_";
  for (char ch : name) out += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

std::optional<unsigned long long> memory_quantity_bytes(const std::string& quantity) {
  unsigned long long value = 0;
  const char* begin = quantity.data();
  const char* end = begin + quantity.size();
  auto [rest, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || rest == begin) return std::nullopt;
  const std::string suffix(rest, end);
  static const std::pair<const char*, unsigned long long> kSuffixes[] = {
      {"", 1ULL},          {"Ki", 1ULL << 10},  {"Mi", 1ULL << 20},  {"Gi", 1ULL << 30},
      {"k", 1000ULL},      {"M", 1000000ULL},   {"G", 1000000000ULL},
  };
  for (const auto& [name, factor] : kSuffixes)
    if (suffix == name) return value * factor;
  return std::nullopt;
}

}  // namespace mountleak::deploy

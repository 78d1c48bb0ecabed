// SPDX-License-Identifier: Apache-2.0
#pragma once

// deploy/daemonset.yaml read with yaml-cpp into what the tests hold it to:
// the unit tests check its properties, and the containerd test runs its
// container with exactly these arguments, mounts and capabilities, so a
// change to the file is a change to what is tested.

#include <optional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "util/result.h"

namespace mountleak::deploy {

// A volumeMount joined with the hostPath volume it names (empty host_path
// when the volume is not a hostPath).
struct AgentMount {
  std::string volume;
  std::string host_path;
  std::string mount_path;
  bool read_only = false;
  std::string propagation;  // mountPropagation, "" when unset
};

struct AgentContainer {
  std::string name;
  std::vector<std::string> command;
  std::vector<std::string> args;
  std::vector<std::string> capabilities_add;   // as written: "SYS_ADMIN"
  std::vector<std::string> capabilities_drop;
  std::vector<AgentMount> mounts;
  YAML::Node node;  // the container itself, for everything else
};

struct DaemonSetManifest {
  YAML::Node daemonset;     // the DaemonSet document
  YAML::Node pod_spec;      // spec.template.spec
  AgentContainer container;  // the one container named "mountleak"
  std::vector<YAML::Node> documents;  // every document of the file
};

// Where the repository's deploy/ directory is (set by CMake).
std::string deploy_dir();

// Reads and parses the file; an error names what is missing or malformed.
Result<DaemonSetManifest> load_daemonset(const std::string& path);

// "SYS_ADMIN" -> "cap_sys_admin", as capability_name() spells it.
std::string kubernetes_capability_to_linux(const std::string& name);

// A memory quantity ("256Mi", "64M", "1Gi", "1000") in bytes, or nothing.
std::optional<unsigned long long> memory_quantity_bytes(const std::string& quantity);

}  // namespace mountleak::deploy

// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the container runtimes themselves wrote about a container: its name,
// its pod, and the mounts it was created with. This is how a leaked mount is
// explained ("/var/lib/kubelet bound in with rprivate"), so it is read from
// the runtime's own files and never from an API server that may disagree.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/host_paths.h"
#include "util/result.h"

namespace mountleak {

struct OciMount {
  std::string source, destination, type;
  std::vector<std::string> options;
  // "private", "rprivate", "slave", "rslave", "shared", "rshared",
  // "unbindable", "runbindable", or "" when the runtime did not say.
  std::string propagation;
};

struct PodRef {
  std::string namespace_, name, uid;
  // The pod's labels, from its sandbox's record: kubelet puts them there
  // only. CRI-O (io.kubernetes.cri-o.Labels) and dockershim (docker labels)
  // write them; containerd's CRI plugin keeps them in its database, so for
  // its containers this is always empty. Empty also when unknown.
  std::map<std::string, std::string> labels = {};  // "= {}": brace-initialised PodRefs may leave it out
};

struct ContainerMetadata {
  std::string runtime;  // "containerd", "cri-o" or "docker"
  std::string id;
  std::string name;     // the Kubernetes container name, else the runtime's; "" for a pod sandbox
  std::optional<PodRef> pod;
  std::vector<OciMount> mounts;
  std::string metadata_file;
  bool sandbox = false;  // the pod's infrastructure ("pause") container
  std::string sandbox_id;  // a container's: its pod's sandbox, where the pod's labels are
};

// The last propagation option in an OCI mount's options, as runc applies
// them in order; "" when there is none.
std::string propagation_from_options(const std::vector<std::string>& options);

// Parsers for one runtime's file, given its text; `file` only labels errors.
// An OCI runtime spec config.json as containerd's CRI plugin or CRI-O writes
// it (runtime "containerd" or "cri-o" picks the annotations to read).
Result<ContainerMetadata> parse_oci_config(std::string_view text, const std::string& file, std::string_view runtime);
// docker's config.v2.json, merged with hostconfig.json's Binds when given
// (empty hostconfig_text: none).
Result<ContainerMetadata> parse_docker_config(std::string_view config_v2_text, const std::string& file,
                                              std::string_view hostconfig_text = {},
                                              const std::string& hostconfig_file = {});

// Finds and reads a container's metadata, remembering every answer (errors
// too) so a container with a thousand processes is read once.
class MetadataStore {
 public:
  explicit MetadataStore(const HostPaths& paths);

  // runtime_hint: "containerd", "cri-o", "docker" or "" (unknown, e.g. the
  // cgroupfs driver); it orders the search, and the other runtimes are
  // still tried. The first metadata file that exists decides: a file that
  // is not valid JSON is an error naming it, not a reason to look elsewhere.
  // No file at all is an error with errno_value ENOENT.
  Result<ContainerMetadata> find(std::string_view runtime_hint, std::string_view id);

  // containerd's runc v2 shim under the CRI serves a whole pod and is named
  // after its sandbox; which of containerd's tasks (any namespace) has
  // `init_pid` as its first process, from the init.pid its bundle holds.
  // Nothing when none does, or past kMaxTasks bundles.
  static constexpr int kMaxTasks = 4096;
  std::optional<std::string> containerd_task_with_init(int init_pid);

  int files_read() const { return files_read_; }
  int errors() const { return errors_; }  // distinct containers whose lookup failed

 private:
  Result<ContainerMetadata> lookup(std::string_view runtime_hint, const std::string& id);
  std::optional<Result<ContainerMetadata>> try_containerd(const std::string& id, std::vector<std::string>& tried);
  std::optional<Result<ContainerMetadata>> try_crio(const std::string& id, std::vector<std::string>& tried);
  std::optional<Result<ContainerMetadata>> try_docker(const std::string& id, std::vector<std::string>& tried);

  HostPaths paths_;
  std::map<std::string, Result<ContainerMetadata>, std::less<>> cache_;
  std::set<std::string> failed_;  // ids whose lookup failed, each counted once
  int files_read_ = 0;
  int errors_ = 0;
};

// <pod_logs>/<namespace>_<pod>_<uid> for a pod UID (or <pod_logs>/<uid>, the
// layout before Kubernetes 1.14); nothing when there is none.
std::optional<std::string> find_pod_log_dir(const HostPaths& paths, const std::string& pod_uid);

// "kube-system_fluentd-x7k2p_8f0e7c9a-..." -> {kube-system, fluentd-x7k2p,
// 8f0e7c9a-...}. Namespaces and pod names are DNS labels/subdomains, which
// have no '_', so the split is exact.
std::optional<PodRef> pod_from_log_dir_name(std::string_view dirname);

}  // namespace mountleak

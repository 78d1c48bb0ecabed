// SPDX-License-Identifier: Apache-2.0
#pragma once

// `trace --release-leaks --release-scope SELECTOR`: which holders trace may
// release, by the holder's pod. A holder with no pod never matches, so a
// scope never reaches the host's processes or a container outside
// Kubernetes.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "findings/holders.h"
#include "util/result.h"

namespace mountleak {

// namespace=NAME: the holder's pod is in that Kubernetes namespace.
//
// label=KEY=VALUE is refused with the reason: no runtime record mountleak
// reads gives a container's pod labels. Kubelet puts a pod's labels on its
// sandbox only; an application container carries kubelet's own labels
// (io.kubernetes.pod.name, ...) in CRI-O's io.kubernetes.cri-o.Labels and
// in dockershim's docker labels, and containerd's CRI plugin keeps labels
// in its database, not in config.json. Matching them would take reading the
// sandbox's record (CRI-O, docker) and is not done yet.
struct ScopeSelector {
  std::string pod_namespace;
};

// "namespace=logging"; an Error saying what is accepted otherwise (exit
// status 2 at the command line).
Result<ScopeSelector> parse_scope_selector(const std::string& text);

// "namespace=logging", as given.
std::string scope_selector_text(const ScopeSelector& selector);

// A holder is in scope when any selector matches its pod; with no
// selectors at all, every holder is.
bool in_release_scope(const Holder& holder, const std::vector<ScopeSelector>& scope);

}  // namespace mountleak

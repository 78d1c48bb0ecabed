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
// label=KEY=VALUE: the holder's pod has that label. Pod labels are read from
// the pod's sandbox record (resolve/runtime_metadata.h): CRI-O's and
// dockershim's have them, containerd's CRI plugin keeps them out of its
// files, so a containerd pod never matches a label.
struct ScopeSelector {
  std::string pod_namespace = {};  // namespace=
  std::string label_key = {};      // label=KEY=VALUE
  std::string label_value = {};
};

// "namespace=logging" or "label=app=fluentd"; an Error saying what is
// accepted otherwise (exit status 2 at the command line).
Result<ScopeSelector> parse_scope_selector(const std::string& text);

// "namespace=logging", "label=app=fluentd", as given.
std::string scope_selector_text(const ScopeSelector& selector);

// A holder is in scope when any selector matches its pod; with no
// selectors at all, every holder is.
bool in_release_scope(const Holder& holder, const std::vector<ScopeSelector>& scope);

}  // namespace mountleak

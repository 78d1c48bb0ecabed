// SPDX-License-Identifier: Apache-2.0
#include "release/release_scope.h"

#include <algorithm>

namespace mountleak {

namespace {

// A Kubernetes namespace is a DNS label: lower-case letters, digits and
// '-', at most 63 bytes. Anything else can never match, so it is a typo.
bool dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

}  // namespace

Result<ScopeSelector> parse_scope_selector(const std::string& text) {
  const std::string ns = "namespace=";
  if (text.rfind(ns, 0) == 0) {
    std::string name = text.substr(ns.size());
    if (!dns_label(name))
      return Error{"--release-scope " + text + ": '" + name +
                   "' is not a Kubernetes namespace name (lower-case letters, digits and '-', at most 63)"};
    return ScopeSelector{std::move(name)};
  }
  if (text.rfind("label=", 0) == 0)
    return Error{"--release-scope " + text +
                 ": label selectors are not supported: no runtime record mountleak reads gives a container's pod "
                 "labels (kubelet puts them on the pod's sandbox only, and containerd keeps them out of config.json); "
                 "use namespace=NAME"};
  return Error{"--release-scope " + text + ": expected namespace=NAME"};
}

std::string scope_selector_text(const ScopeSelector& selector) { return "namespace=" + selector.pod_namespace; }

bool in_release_scope(const Holder& holder, const std::vector<ScopeSelector>& scope) {
  if (scope.empty()) return true;
  if (!holder.who.pod) return false;
  return std::any_of(scope.begin(), scope.end(),
                     [&](const ScopeSelector& s) { return holder.who.pod->namespace_ == s.pod_namespace; });
}

}  // namespace mountleak

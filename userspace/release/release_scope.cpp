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
    ScopeSelector s;
    s.pod_namespace = std::move(name);
    return s;
  }
  const std::string label = "label=";
  if (text.rfind(label, 0) == 0) {
    const std::string rest = text.substr(label.size());
    const size_t eq = rest.find('=');
    // Kubernetes' bounds: a key of at most 317 bytes, a value of at most 63.
    if (eq == std::string::npos || eq == 0 || eq > 317 || rest.size() - eq - 1 > 63)
      return Error{"--release-scope " + text + ": expected label=KEY=VALUE (a pod label, e.g. label=app=fluentd)"};
    ScopeSelector s;
    s.label_key = rest.substr(0, eq);
    s.label_value = rest.substr(eq + 1);
    return s;
  }
  return Error{"--release-scope " + text + ": expected namespace=NAME or label=KEY=VALUE"};
}

std::string scope_selector_text(const ScopeSelector& selector) {
  if (!selector.label_key.empty()) return "label=" + selector.label_key + "=" + selector.label_value;
  return "namespace=" + selector.pod_namespace;
}

bool in_release_scope(const Holder& holder, const std::vector<ScopeSelector>& scope) {
  if (scope.empty()) return true;
  if (!holder.who.pod) return false;
  const PodRef& pod = *holder.who.pod;
  return std::any_of(scope.begin(), scope.end(), [&](const ScopeSelector& s) {
    if (!s.label_key.empty()) {
      auto it = pod.labels.find(s.label_key);
      return it != pod.labels.end() && it->second == s.label_value;
    }
    return !pod.namespace_.empty() && pod.namespace_ == s.pod_namespace;
  });
}

}  // namespace mountleak

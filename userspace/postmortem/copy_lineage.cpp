// SPDX-License-Identifier: Apache-2.0
#include "postmortem/copy_lineage.h"

#include <algorithm>
#include <set>

namespace mountleak {

namespace {

// Namespaces nest a few levels deep (host, a pod's sandbox, a container, a
// process that unshared once more); a longer chain is a cycle in damaged
// input.
constexpr size_t kMaxDepth = 32;

// How the device reaches a namespace, of the kinds each step is.
bool on_the_way(const HistoryStep& s, bool holder_namespace) {
  switch (s.kind) {
    case StepKind::kMounted:
    case StepKind::kBound:
    case StepKind::kCopied:
    case StepKind::kPropagated:
    case StepKind::kPropagation:
    case StepKind::kHostpathRisk:
      return true;
    case StepKind::kEntered:  // who else came to hold it there
      return holder_namespace;
    case StepKind::kUnmounted:
    case StepKind::kLeak:
    case StepKind::kBusy:
      return false;
  }
  return false;
}

}  // namespace

CopyLineage lineage_of(const DeviceHistory& history, const HeldCopy& copy, LogMicros at) {
  CopyLineage out;
  out.copy = copy;
  std::vector<uint64_t> chain{copy.mntns};
  std::set<uint64_t> seen{copy.mntns};
  while (chain.size() < kMaxDepth && chain.back() != history.host_mntns) {
    auto it = history.parent_of.find(chain.back());
    if (it == history.parent_of.end() || !it->second || !seen.insert(it->second).second) break;
    chain.push_back(it->second);
  }
  out.reaches_host = history.host_mntns != 0 && chain.back() == history.host_mntns;
  std::reverse(chain.begin(), chain.end());
  out.namespaces = chain;

  const std::set<uint64_t> in_chain(chain.begin(), chain.end());
  for (const HistoryStep& s : history.steps) {
    if (s.time > at) continue;  // not break: a clock stepped back leaves later lines earlier
    if (!in_chain.count(s.mntns) || !on_the_way(s, s.mntns == copy.mntns)) continue;
    // A namespace's creation belongs to it, not to a sibling's chain; the
    // host's own steps are only how the device got there.
    if (s.kind == StepKind::kCopied && s.mntns == chain.front() && out.reaches_host) continue;
    out.steps.push_back(s);
  }
  // Namespaces on the way that no finding named: how each was made.
  for (uint64_t ns : chain)
    if (auto it = history.created.find(ns); it != history.created.end() && it->second.time <= at)
      out.steps.push_back(it->second);
  std::stable_sort(out.steps.begin(), out.steps.end(),
                   [](const HistoryStep& a, const HistoryStep& b) { return a.time < b.time; });
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "postmortem/holders_at.h"

#include <algorithm>
#include <map>

namespace mountleak {

namespace {

void take_finding_holder(HeldCopy& copy, const LoggedHolder& h, LogMicros time) {
  copy.role = h.role;
  if (!h.mountpoints.empty())
    copy.mountpoints = std::set<std::string>(h.mountpoints.begin(), h.mountpoints.end());
  else if (!h.mountpoint.empty())
    copy.mountpoints = {h.mountpoint};
  copy.root = h.root;
  copy.propagation = h.propagation;
  copy.processes = h.processes;
  copy.owner = h.owner;
  copy.via = h.via;
  copy.hint = h.hint;
  copy.confirmed = time;
}

}  // namespace

std::vector<HeldCopy> holders_at(const DeviceHistory& history, LogMicros at) {
  std::map<uint64_t, HeldCopy> held;
  auto holder = [&](uint64_t mntns, LogMicros time) -> HeldCopy& {
    auto [it, fresh] = held.try_emplace(mntns);
    if (fresh) {
      it->second.mntns = mntns;
      it->second.host = mntns != 0 && mntns == history.host_mntns;
      it->second.since = time;
    }
    return it->second;
  };
  for (const HistoryStep& s : history.steps) {
    if (s.time > at) continue;  // not break: a clock stepped back leaves later lines earlier
    switch (s.kind) {
      case StepKind::kMounted:
      case StepKind::kBound: {
        HeldCopy& copy = holder(s.mntns, s.time);
        copy.mountpoints.insert(s.target);
        if (copy.role.empty() && copy.host) copy.role = "host";
        break;
      }
      case StepKind::kCopied:
      case StepKind::kPropagated:
        if (!s.from_finding) holder(s.mntns, s.time);
        break;
      case StepKind::kUnmounted: {
        auto it = held.find(s.mntns);
        if (it == held.end()) break;
        auto& mps = it->second.mountpoints;
        std::erase_if(mps, [&](const std::string& m) {
          return m == s.target ||
                 (s.detail == "MNT_DETACH" && m.starts_with(s.target) && m.size() > s.target.size() &&
                  (s.target == "/" || m[s.target.size()] == '/'));
        });
        if (mps.empty()) held.erase(it);
        break;
      }
      case StepKind::kLeak:
      case StepKind::kBusy: {
        // A complete list: a leak's of every holder but the host (whose last
        // mount just went), a busy's of every holder.
        std::map<uint64_t, HeldCopy> listed;
        for (const auto& h : s.holders) {
          if (!h.mntns) continue;  // an fd or stacked holder: no namespace to follow
          auto it = held.find(h.mntns);
          HeldCopy copy = it != held.end() ? it->second : HeldCopy{};
          if (it == held.end()) {
            copy.mntns = h.mntns;
            copy.host = h.mntns == history.host_mntns;
            copy.since = s.time;
          }
          take_finding_holder(copy, h, s.time);
          listed[h.mntns] = std::move(copy);
        }
        held = std::move(listed);
        break;
      }
      case StepKind::kHostpathRisk:
        for (const auto& h : s.holders)
          if (h.mntns) take_finding_holder(holder(h.mntns, s.time), h, s.time);
        break;
      case StepKind::kEntered:
      case StepKind::kPropagation:
        break;
    }
    if (s.kind == StepKind::kCopied && s.from_finding)
      for (const auto& h : s.holders)
        if (h.mntns) take_finding_holder(holder(h.mntns, s.time), h, s.time);
  }
  std::vector<HeldCopy> out;
  for (auto& [mntns, copy] : held) out.push_back(std::move(copy));
  std::stable_sort(out.begin(), out.end(), [](const HeldCopy& a, const HeldCopy& b) { return a.host > b.host; });
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "postmortem/device_history.h"

#include <charconv>

namespace mountleak {

namespace {

bool has_flag(std::string_view flags, std::string_view name) {
  while (!flags.empty()) {
    const size_t bar = flags.find('|');
    if (flags.substr(0, bar) == name) return true;
    if (bar == std::string_view::npos) break;
    flags.remove_prefix(bar + 1);
  }
  return false;
}

// `path` is `dir` or below it.
bool at_or_under(std::string_view path, std::string_view dir) {
  if (dir.empty()) return false;
  if (dir == "/") return !path.empty() && path[0] == '/';
  return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

// A path below `from`, moved below `to`.
std::string moved(const std::string& path, const std::string& from, const std::string& to) {
  if (from == "/") return to == "/" ? path : to + path;
  const std::string rest = path.substr(from.size());
  return to == "/" && !rest.empty() ? rest : to + rest;
}

constexpr uint64_t kAtRecursive = 0x8000;   // mount_setattr(2)'s AT_RECURSIVE
constexpr uint64_t kMntDetach = 2;          // umount2(2)'s MNT_DETACH
// More mount points than this per namespace are not followed: a storm of
// binds must not make report's memory grow without end.
constexpr size_t kMaxMountpointsPerNamespace = 4096;
// Likewise the namespaces whose inherited mounts are followed, and those
// remembered only for lineages passing through them: a fork storm in the
// log must not become one in report's memory.
constexpr size_t kMaxFollowedNamespaces = 65536;
constexpr size_t kMaxIntermediateNamespaces = 65536;

uint64_t number(std::string_view text) {
  uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

// Follows the device's mounts by path through the raw events and turns
// what touches them into steps.
class HistoryBuilder {
 public:
  HistoryBuilder(const LogRecords& log, const LoggedDevice& device, uint64_t host_mntns)
      : log_(log), key_(key_of(device)) {
    history_.device = device;
    history_.host_mntns = host_mntns;
    // Which namespaces hold it, and which process each finding put where:
    // raw events (a namespace's creation) come before the findings that
    // explain them.
    for (const auto& e : log.entries)
      if (const auto* f = std::get_if<LoggedFinding>(&e.record); f && key_of(f->device) == key_) {
        for (const auto& h : f->holders) {
          if (h.mntns) history_.holding.insert(h.mntns);
          for (const auto& p : h.processes)
            if (p.pid) owners_[{h.mntns, p.pid}] = h.owner;
        }
        if (f->culprit && f->mntns) owners_[{f->mntns, f->culprit->pid}] = f->culprit->owner;
        if (f->kind == FindingKind::kMntnsCopy && f->mntns) history_.holding.insert(f->mntns);
      }
  }

  DeviceHistory build() {
    for (const auto& e : log_.entries) {
      if (const auto* f = std::get_if<LoggedFinding>(&e.record)) {
        if (key_of(f->device) == key_) on_finding(*e.time, *f);
      } else if (const auto* k = std::get_if<LoggedKernelEvent>(&e.record)) {
        on_kernel_event(*e.time, *k);
      }
    }
    return std::move(history_);
  }

 private:
  HistoryStep step(StepKind kind, LogMicros time, uint64_t mntns) {
    HistoryStep s;
    s.kind = kind;
    s.time = time;
    s.mntns = mntns;
    s.host = mntns != 0 && mntns == history_.host_mntns;
    return s;
  }

  // Steps in a namespace nobody found holding the device are left out.
  bool in_story(uint64_t mntns) const {
    return history_.host_mntns == 0 || mntns == history_.host_mntns || history_.holding.count(mntns);
  }

  std::optional<LoggedCulprit> raw_who(const LoggedKernelEvent& e, uint64_t mntns) {
    LoggedCulprit c{e.pid, e.comm, {}, {}};
    if (auto it = owners_.find({mntns, e.pid}); it != owners_.end()) c.owner = it->second;
    return c;
  }

  void add_mountpoint(uint64_t mntns, const std::string& path) {
    auto& set = mounts_[mntns];
    if (set.size() < kMaxMountpointsPerNamespace) set.insert(path);
  }

  void on_finding(LogMicros time, const LoggedFinding& f) {
    static constexpr StepKind kKinds[] = {StepKind::kCopied, StepKind::kHostpathRisk, StepKind::kLeak,
                                          StepKind::kBusy};
    HistoryStep s = step(kKinds[static_cast<int>(f.kind)], time, f.mntns);
    s.from_finding = true;
    s.from_mntns = f.from_mntns;
    s.who = f.culprit;
    s.holders = f.holders;
    s.bind = f.bind;
    if (f.bind) s.propagation = f.bind->propagation;
    if (f.kind == FindingKind::kBusy) {
      s.source = f.busy_path;
      s.detail = f.busy_source;
    }
    if (f.kind == FindingKind::kLeak) {
      // The host's unmount made it: it happened in the host's namespace.
      s.mntns = history_.host_mntns;
      s.host = s.mntns != 0;
      if (f.found_by_resync) s.detail = "found by resync";
    }
    if (f.kind == FindingKind::kMntnsCopy && f.mntns && f.from_mntns)
      history_.parent_of.try_emplace(f.mntns, f.from_mntns);
    // Holders' own mount points, so that their later unmounts are seen.
    for (const auto& h : f.holders)
      for (const auto& m : h.mountpoints) add_mountpoint(h.mntns, m);
    history_.steps.push_back(std::move(s));
  }

  void on_kernel_event(LogMicros time, const LoggedKernelEvent& e) {
    if (e.kind == "mount")
      on_mount(time, e);
    else if (e.kind == "umount")
      on_umount(time, e);
    else if (e.kind == "mntns")
      on_new_namespace(time, e);
    else if (e.kind == "setns")
      on_setns(time, e);
    else if (e.kind == "mount_setattr")
      on_mount_setattr(time, e);
    else if (e.kind == "propagate_mount")
      on_propagated(time, e);
  }

  void on_mount(LogMicros time, const LoggedKernelEvent& e) {
    static const std::set<std::string> kNone;
    const auto found = mounts_.find(e.mntns);
    const std::set<std::string>& mine = found == mounts_.end() ? kNone : found->second;
    const bool bind = has_flag(e.flags, "MS_BIND");
    const bool recursive = has_flag(e.flags, "MS_REC");
    if (!bind && !has_flag(e.flags, "MS_REMOUNT") && !has_flag(e.flags, "MS_MOVE") &&
        !history_.device.path.empty() && e.source == history_.device.path) {
      HistoryStep s = step(StepKind::kMounted, time, e.mntns);
      s.who = raw_who(e, e.mntns);
      s.source = e.source;
      s.target = e.target;
      s.detail = e.fstype;
      add_mountpoint(e.mntns, e.target);
      history_.steps.push_back(std::move(s));
      return;
    }
    if (bind) {
      // The device's mounts at or under the source, seen again under the
      // target: all of them with MS_REC, only one at the source itself
      // without.
      std::vector<std::string> copies;
      for (const auto& m : mine)
        if ((recursive && at_or_under(m, e.source)) || m == e.source) copies.push_back(moved(m, e.source, e.target));
      // A bind of a directory on the device (a pod volume's subPath).
      bool inside = false;
      for (const auto& m : mine) inside = inside || (at_or_under(e.source, m) && e.source != m);
      if (copies.empty() && !inside) return;
      if (inside) copies.push_back(e.target);
      for (const auto& c : copies) add_mountpoint(e.mntns, c);
      if (!in_story(e.mntns)) return;
      HistoryStep s = step(StepKind::kBound, time, e.mntns);
      s.who = raw_who(e, e.mntns);
      s.source = e.source;
      s.target = e.target;
      s.detail = e.flags;
      history_.steps.push_back(std::move(s));
      return;
    }
    const std::string propagation = propagation_from_flags(e.flags);
    if (propagation.empty() || !in_story(e.mntns)) return;
    // A propagation change matters when it reaches one of the device's
    // mounts: on it, or above it with MS_REC.
    bool reaches = false;
    for (const auto& m : mine) reaches = reaches || m == e.target || (recursive && at_or_under(m, e.target));
    if (!reaches) return;
    HistoryStep s = step(StepKind::kPropagation, time, e.mntns);
    s.who = raw_who(e, e.mntns);
    s.target = e.target;
    s.propagation = propagation;
    s.detail = e.flags;
    history_.steps.push_back(std::move(s));
  }

  void on_mount_setattr(LogMicros time, const LoggedKernelEvent& e) {
    std::string name = propagation_from_flags(e.propagation);
    if (name.empty() || !in_story(e.mntns)) return;
    const bool recursive = number(e.flags) & kAtRecursive;
    if (recursive) name = "r" + name;
    bool reaches = false;
    for (const auto& m : mounts_[e.mntns])
      reaches = reaches || m == e.path || (recursive && at_or_under(m, e.path));
    if (!reaches) return;
    HistoryStep s = step(StepKind::kPropagation, time, e.mntns);
    s.who = raw_who(e, e.mntns);
    s.target = e.path;
    s.propagation = name;
    s.detail = "mount_setattr";
    history_.steps.push_back(std::move(s));
  }

  void on_umount(LogMicros time, const LoggedKernelEvent& e) {
    auto it = mounts_.find(e.mntns);
    if (it == mounts_.end()) return;
    const bool detach = number(e.flags) & kMntDetach;
    std::vector<std::string> gone;
    for (const auto& m : it->second)
      if (m == e.target || (detach && at_or_under(m, e.target))) gone.push_back(m);
    if (gone.empty()) return;
    for (const auto& m : gone) it->second.erase(m);
    if (!in_story(e.mntns)) return;
    HistoryStep s = step(StepKind::kUnmounted, time, e.mntns);
    s.who = raw_who(e, e.mntns);
    s.target = e.target;
    s.detail = detach ? "MNT_DETACH" : "";
    history_.steps.push_back(std::move(s));
  }

  void on_new_namespace(LogMicros time, const LoggedKernelEvent& e) {
    if (!e.mntns || e.mntns == e.old_mntns) return;
    auto parent = mounts_.find(e.old_mntns);
    const bool inherits = parent != mounts_.end() && !parent->second.empty();
    if (!inherits && !history_.holding.count(e.mntns)) return;
    if (mounts_.size() >= kMaxFollowedNamespaces && !history_.holding.count(e.mntns)) {
      ++history_.namespaces_not_followed;
      return;
    }
    history_.parent_of[e.mntns] = e.old_mntns;
    if (inherits) {
      const std::set<std::string> copied = parent->second;  // the map may grow below
      for (const auto& m : copied) add_mountpoint(e.mntns, m);
    }
    HistoryStep s = step(StepKind::kCopied, time, e.mntns);
    s.from_mntns = e.old_mntns;
    s.who = raw_who(e, e.mntns);
    s.detail = e.flags;
    // Every namespace inherits; only one that ends up holding the device
    // is part of its story, the others may be on the way to one.
    if (history_.holding.count(e.mntns))
      history_.steps.push_back(std::move(s));
    else if (history_.created.size() < kMaxIntermediateNamespaces)
      history_.created.emplace(e.mntns, std::move(s));
  }

  void on_setns(LogMicros time, const LoggedKernelEvent& e) {
    if (!history_.holding.count(e.mntns) || e.mntns == e.old_mntns) return;
    HistoryStep s = step(StepKind::kEntered, time, e.mntns);
    s.from_mntns = e.old_mntns;
    s.who = raw_who(e, e.mntns);
    history_.steps.push_back(std::move(s));
  }

  void on_propagated(LogMicros time, const LoggedKernelEvent& e) {
    const std::string dev = std::to_string(key_.major) + ":" + std::to_string(key_.minor);
    if (e.dev != dev || !in_story(e.mntns)) return;
    HistoryStep s = step(StepKind::kPropagated, time, e.mntns);
    s.who = raw_who(e, e.mntns);
    s.target = e.target;
    history_.steps.push_back(std::move(s));
  }

  const LogRecords& log_;
  DeviceKey key_;
  DeviceHistory history_;
  std::map<uint64_t, std::set<std::string>> mounts_;  // the device's mount points per namespace
  std::map<std::pair<uint64_t, int64_t>, LoggedOwner> owners_;  // (mntns, pid) -> owner
};

}  // namespace

std::string propagation_from_flags(std::string_view flags) {
  std::string name;
  if (has_flag(flags, "MS_PRIVATE")) name = "private";
  else if (has_flag(flags, "MS_SLAVE")) name = "slave";
  else if (has_flag(flags, "MS_SHARED")) name = "shared";
  else if (has_flag(flags, "MS_UNBINDABLE")) name = "unbindable";
  if (!name.empty() && has_flag(flags, "MS_REC")) name = "r" + name;
  return name;
}

DeviceHistory build_device_history(const LogRecords& log, const LoggedDevice& device, uint64_t host_mntns) {
  return HistoryBuilder(log, device, host_mntns).build();
}

}  // namespace mountleak

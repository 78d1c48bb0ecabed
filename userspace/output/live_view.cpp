// SPDX-License-Identifier: Apache-2.0
#include "output/live_view.h"

#include <fmt/core.h>

#include <utility>
#include <vector>

#include "output/holders_json.h"
#include "output/printable.h"
#include "output/raw_event_json.h"
#include "output/release_output.h"

namespace mountleak {

namespace {

std::string clock_of(std::chrono::system_clock::time_point time) { return rfc3339(time).substr(11, 8); }

std::string who(const Attribution& a) {
  std::string out;
  if (a.container) {
    const std::string id = printable(a.container->id.substr(0, 12));
    out = a.container->name.empty() ? "container " + id
                                    : "container " + printable(a.container->name) + " (" + id + ")";
  }
  if (a.pod) {
    const PodRef& p = *a.pod;
    out += (out.empty() ? "" : ", ") + (p.name.empty() ? "pod uid " + printable(p.uid.empty() ? "-" : p.uid)
                                                       : "pod " + printable(p.namespace_) + "/" + printable(p.name));
  }
  return out.empty() ? "no container" : out;
}

std::string process(const Culprit& c) {
  return fmt::format("{}[{}] ({})", printable(c.comm), c.pid, who(c.who));
}

std::string device(const DeviceRef& d) {
  std::string out = fmt::format("{} ({}:{})", printable(d.path), d.dev.major, d.dev.minor);
  if (d.rbd) out += fmt::format(" rbd {}/{}", printable(d.rbd->pool), printable(d.rbd->image));
  if (d.dm) {
    out += " dm " + printable(d.dm->name);
    if (!d.dm->slaves.empty()) {
      std::string on;
      for (const auto& s : d.dm->slaves) on += (on.empty() ? "" : ",") + printable(s);
      out += " on " + on + (d.dm->more_slaves ? ",..." : "");
    }
  }
  return out;
}
std::string device(const DeviceFinding& f) { return device(f.device); }

std::string holders(const DeviceFinding& f) {
  std::string out;
  for (const Holder& h : f.holders) {
    const auto& procs = h.who.processes;
    std::string pid = procs.empty() ? "" : fmt::format(" {}[{}]", printable(procs[0].comm), procs[0].pid);
    std::string at = !h.mountpoint.empty() ? printable(h.mountpoint) : !h.fds.empty() ? "open file" : "-";
    out += fmt::format("    {:<8} mntns {}{}  {}  at {}\n", holder_role_name(h.role), h.mntns, pid, who(h.who), at);
    if (!h.via.empty()) out += "             via  " + printable(h.via) + "\n";
    if (!h.hint.empty()) out += "             hint " + printable(h.hint) + "\n";
  }
  return out;
}

// Raw kernel events (--all-events): compact, one line, the call's main
// arguments in a fixed order.
struct RawDetail {
  std::vector<std::pair<const char*, std::string>>& out;
  void add(const char* key, const std::string& value) const { out.emplace_back(key, printable(value)); }
  void add(const char* key, uint64_t value) const { out.emplace_back(key, std::to_string(value)); }
  void operator()(const NamespaceSwitch& p) const {
    add("flags", p.flags);
    add("old_mntns", p.old_mntns);
  }
  void operator()(const MountCall& p) const {
    add("source", p.source);
    add("target", p.target);
    add("flags", mount_flags_text(p.flags));
  }
  void operator()(const UmountCall& p) const {
    add("target", p.target);
    add("flags", p.flags);
  }
  void operator()(const OpenTreeCall& p) const {
    add("path", p.path);
    add("flags", p.flags);
  }
  void operator()(const MoveMountCall& p) const {
    add("from", p.from);
    add("to", p.to);
    add("flags", p.flags);
  }
  void operator()(const FsmountCall& p) const { add("flags", p.flags); }
  void operator()(const MountSetattrCall& p) const {
    add("path", p.path);
    add("flags", p.flags);
    add("propagation", mount_flags_text(p.propagation));
  }
  void operator()(const PropagatedChange&) const {}
  void operator()(const MountTableChanged& p) const { add("seen", std::string(table_change_seen_name(p.seen))); }
  void operator()(const BusyFailure& p) const {
    add("source", std::string(busy_source_name(p.source)));
    add("path", p.path);
    add("flags", p.flags);
  }
};

struct LiveText {
  std::string t;
  std::string operator()(const Ready& r) const {
    std::string tiers;
    for (const HookChoice& h : r.hooks)
      tiers += fmt::format(" {}={}", h.hook, h.tier ? std::string(tier_name(*h.tier)) : "NONE");
    std::string paths;
    if (r.host_layout && r.host_layout->host_root != "/") paths = "; paths are " + printable(r.host_layout->paths_note());
    const char* passive =
        r.tier_asked == TierChoice::kPassive ? "; passive tier: mount tables polled, busy findings off" : "";
    return fmt::format("{} ready: watching {} mount namespaces, {} tracked device(s) mounted;{}{}{}\n", t,
                       r.namespaces, r.tracked_devices, tiers, passive, paths);
  }
  std::string operator()(const Leak& f) const {
    return fmt::format("{} LEAK {}: the host unmounted it{}; still held by\n{}", t, device(f),
                       f.unmounted_by ? " (" + process(*f.unmounted_by) + ")" : "", holders(f));
  }
  std::string operator()(const LeakResolved& f) const {
    return fmt::format("{} leak over {}: {}\n", t, device(f.device),
                       f.reason == "host_mounted_again" ? "the host mounts it again" : "no copy holds it any more");
  }
  std::string operator()(const Release& r) const {
    return fmt::format("{} RELEASE {}\n{}", t, release_device_heading(r.step.device), release_step_text(r.step));
  }
  std::string operator()(const Busy& f) const {
    // What an operator typed: a dm remove is `dmsetup remove` (or its
    // library's ioctl, as LVM and multipath call it).
    const std::string call =
        f.source == BusySource::kDmRemove ? "`dmsetup remove`" : std::string(busy_source_name(f.source));
    return fmt::format("{} BUSY {}: {} of {} failed with EBUSY in {}; held by\n{}", t, device(f), call,
                       printable(f.path), process(f.process), holders(f));
  }
  std::string operator()(const MntnsCopy& f) const {
    return fmt::format("{} COPY {}: new mount namespace {} (from {}, created by {}) keeps a private copy\n{}", t,
                       device(f), f.mntns, f.from_mntns, process(f.creator), holders(f));
  }
  std::string operator()(const HostpathRisk& f) const {
    const std::string source = f.bind.source.path ? printable(*f.bind.source.path) : "-";
    return fmt::format("{} RISK {}: {} bound at {} with {} propagation will keep it after the host "
                       "unmounts\n{}",
                       t, device(f), source, printable(f.bind.mountpoint), propagation_name(f.bind.propagation),
                       holders(f));
  }
  std::string operator()(const Lost& n) const {
    return fmt::format("{} LOST {} event(s) in the kernel; resynchronising from /proc\n", t, n.count);
  }
  std::string operator()(const Resync& n) const {
    if (!n.ok) return fmt::format("{} resync failed: {}\n", t, printable(n.error));
    return fmt::format("{} resync: {} namespaces re-read in {} ms\n", t, n.namespaces, n.duration_ms);
  }
  std::string operator()(const Degraded& n) const {
    if (!n.reached) return fmt::format("{} bound {} left: findings are complete again\n", t, n.bound);
    return fmt::format("{} DEGRADED {} reached ({}): {}\n", t, n.bound, n.limit, n.effect);
  }
  // "dm_mod loaded: dm_remove_busy moved from tracepoint to kernel (fexit)".
  std::string operator()(const HookMoved& m) const {
    auto tier_text = [](const std::optional<Tier>& tier, const std::string& kind) {
      if (!tier) return std::string("nothing");
      const std::string name(tier_name(*tier));
      return kind.empty() || kind == name ? name : fmt::format("{} ({})", name, kind);
    };
    const std::string from = tier_text(m.from, m.from_kind);
    const std::string to = tier_text(m.to.tier, m.to_kind);
    const std::string what = fmt::format("{} {}", printable(m.module), m.module_loaded ? "loaded" : "removed");
    if (!m.error.empty())
      return fmt::format("{} {}: {} stays on {}: {}\n", t, what, m.hook, from, printable(m.error));
    return fmt::format("{} {}: {} moved from {} to {}\n", t, what, m.hook, from, to);
  }
  std::string operator()(const Stats& s) const {
    std::string counters;
    for (const auto& [name, value] : s.counters) counters += fmt::format("{}{}={}", counters.empty() ? "" : " ", name, value);
    return fmt::format("{} stopped: {}\n", t, counters);
  }
  // scan's records have their own table (holders_table.h).
  std::string operator()(const HoldersFound&) const { return ""; }
  std::string operator()(const ScanSummary&) const { return ""; }
  // What the collector read, for replay: the log's alone.
  std::string operator()(const NodeFact&) const { return ""; }
  std::string operator()(const KernelEvent& e) const {
    std::vector<std::pair<const char*, std::string>> detail;
    std::visit(RawDetail{detail}, e.payload);
    std::string text;
    for (const auto& [key, value] : detail) text += fmt::format(" {}={}", key, value);
    return fmt::format("{} {:<13} {}[{}] mntns {} ret {}{}\n", t, event_kind_name(e.kind), printable(e.comm), e.pid,
                       e.mntns, e.ret, text);
  }
};

}  // namespace

std::string live_view_text(const Record& record) {
  return std::visit(LiveText{clock_of(record.time)}, record.event);
}

}  // namespace mountleak

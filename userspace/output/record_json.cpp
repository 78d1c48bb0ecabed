// SPDX-License-Identifier: Apache-2.0
#include "output/record_json.h"

#include "output/holders_json.h"
#include "output/host_layout_json.h"
#include "output/raw_event_json.h"
#include "output/recorded_facts_json.h"
#include "output/release_output.h"
#include "output/tier_report.h"

namespace mountleak {

namespace {

nlohmann::json culprit_json(const Culprit& c) {
  nlohmann::json j = attribution_json(c.who);
  j.erase("pids");
  j.erase("processes");
  j["pid"] = c.pid;
  j["comm"] = c.comm;
  if (!c.who.processes.empty()) j["cmdline"] = c.who.processes.front().cmdline;
  return j;
}

// {"source": host path | null, "source_unknown": why (only when null),
//  "kubelet_root": bool, "relation": "covers" | "below" | "none" (the kubelet
//  root or above it, a directory below it that volumes are mounted under,
//  as lint says it),
//  "mountpoint", "propagation"}
nlohmann::json bound_directory_json(const BoundDirectory& b) {
  nlohmann::json j;
  j["source"] = b.source.path ? nlohmann::json(*b.source.path) : nlohmann::json(nullptr);
  if (!b.source.path) j["source_unknown"] = b.source.why_unknown;
  j["kubelet_root"] = b.kubelet_root;
  j["relation"] = std::string(cover_name(b.cover));
  j["mountpoint"] = b.mountpoint;
  j["propagation"] = propagation_name(b.propagation);
  return j;
}

nlohmann::json finding_json(const char* kind, const DeviceFinding& f) {
  nlohmann::json j = {{"event", kind}, {"device", device_json(f.device)}, {"holders", holders_json(f.holders)}};
  if (!f.degraded.empty()) j["degraded"] = f.degraded;
  return j;
}

nlohmann::json scan_counters_json(const ScanCounters& c) {
  return {{"pids_listed", c.pids_listed},
          {"pids_vanished", c.pids_vanished},
          {"pids_unreadable", c.pids_unreadable},
          {"threads_apart", c.threads_apart},
          {"descriptor_pins", c.descriptor_pins},
          {"namespaces", c.namespaces},
          {"mountinfo_lines", c.mountinfo_lines},
          {"statmount_mounts", c.statmount_mounts},
          {"statmount_fallbacks", c.statmount_fallbacks},
          {"parse_issues", c.parse_issues},
          {"fds_scanned", c.fds_scanned},
          {"fds_unreadable", c.fds_unreadable},
          {"fds_from_mount_table", c.fds_from_mount_table}};
}

nlohmann::json bounds_json(const BoundsReport& b) {
  return {{"max_namespaces", b.max_namespaces},
          {"namespaces", b.namespaces},
          {"max_mounts", b.max_mounts},
          {"mounts", b.mounts},
          {"namespaces_trimmed_now", b.namespaces_trimmed_now},
          {"max_mountinfo_bytes", b.max_mountinfo_bytes},
          {"resync_min_interval_ms", b.resync_min_interval_ms},
          {"resync_max_interval_ms", b.resync_max_interval_ms},
          {"resync_backoff_ms", b.resync_backoff_ms},
          {"reconcile_slice_ms", b.reconcile_slice_ms},
          {"degraded", b.degraded}};
}

struct EventJson {
  nlohmann::json operator()(const MntnsCopy& f) const {
    nlohmann::json j = finding_json("mntns_copy", f);
    j["mntns"] = f.mntns;
    j["from_mntns"] = f.from_mntns;
    j["creator"] = culprit_json(f.creator);
    return j;
  }
  nlohmann::json operator()(const HostpathRisk& f) const {
    nlohmann::json j = finding_json("hostpath_risk", f);
    j["bind"] = bound_directory_json(f.bind);
    j["mntns"] = f.mntns;
    if (f.process) j["process"] = culprit_json(*f.process);
    if (f.who) {
      // scan --risks: no device is needed for the risk, and the namespace
      // itself is who to act on.
      if (f.device.path.empty()) j["device"] = nullptr;
      j.update(attribution_json(*f.who));
      j["pinned_at"] = f.pinned_at.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.pinned_at);
      j["via"] = f.via.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.via);
      j["hint"] = f.hint;
      j["found_by"] = "scan";
    }
    return j;
  }
  nlohmann::json operator()(const Leak& f) const {
    nlohmann::json j = finding_json("leak", f);
    if (f.unmounted_by) j["unmounted_by"] = culprit_json(*f.unmounted_by);
    if (f.found_by_resync) j["found_by"] = "resync";
    return j;
  }
  nlohmann::json operator()(const LeakResolved& f) const {
    return {{"event", "leak_resolved"}, {"device", device_json(f.device)}, {"reason", f.reason}};
  }
  // The same shape `mountleak release -o json` prints; record_json stamps the time.
  nlohmann::json operator()(const Release& r) const {
    nlohmann::json j = release_step_json(r.step, false, {});
    j.erase("time");
    return j;
  }
  nlohmann::json operator()(const Busy& f) const {
    nlohmann::json j = finding_json("busy", f);
    j["source"] = busy_source_name(f.source);
    j["errno"] = "EBUSY";
    j["path"] = f.path;
    j["device_from"] = f.device_from;
    j["process"] = culprit_json(f.process);
    j["mntns"] = f.mntns;
    j["kernel_ts_ns"] = f.kernel_ts_ns;
    j["latency_us"] = f.latency_us;
    return j;
  }
  nlohmann::json operator()(const Lost& n) const { return {{"event", "lost"}, {"count", n.count}}; }
  nlohmann::json operator()(const Resync& n) const {
    if (!n.ok) return {{"event", "resync"}, {"ok", false}, {"error", n.error}};
    return {{"event", "resync"},
            {"ok", true},
            {"namespaces", n.namespaces},
            {"duration_ms", n.duration_ms},
            {"next_after_ms", n.next_after_ms}};
  }
  nlohmann::json operator()(const Degraded& n) const {
    if (!n.reached) return {{"event", "degraded"}, {"bound", n.bound}, {"state", "left"}};
    return {{"event", "degraded"}, {"bound", n.bound}, {"limit", n.limit}, {"state", "reached"}, {"effect", n.effect}};
  }
  // {"event": "hook_moved", "hook", "module", "module_state": "loaded" |
  //  "removed", "from": {"tier", "kind", "programs"}, "to": {"tier", "kind",
  //  "programs", "reason"}, "error" (only when the move was not made)}
  nlohmann::json operator()(const HookMoved& m) const {
    nlohmann::json j = {{"event", "hook_moved"},
                        {"hook", m.hook},
                        {"module", m.module},
                        {"module_state", m.module_loaded ? "loaded" : "removed"}};
    j["from"] = {{"tier", m.from ? std::string(tier_name(*m.from)) : "none"},
                 {"kind", m.from_kind},
                 {"programs", m.from_programs}};
    j["to"] = {{"tier", m.to.tier ? std::string(tier_name(*m.to.tier)) : "none"},
               {"kind", m.to_kind},
               {"programs", m.to.programs},
               {"reason", m.to.reason}};
    if (!m.error.empty()) j["error"] = m.error;
    return j;
  }
  nlohmann::json operator()(const Ready& r) const {
    return {{"event", "ready"},
            {"tier", tier_summary_json(r.hooks)},
            {"hooks", hook_choices_json(r.hooks)},
            {"kernel", r.kernel},
            {"tracefs", r.tracefs},
            {"host_mntns", r.host_mntns},
            {"namespaces", r.namespaces},
            {"tracked_devices", r.tracked_devices},
            {"devices", r.devices},
            {"refused", r.refused},
            {"attached_in", r.attached_in},
            {"warnings", r.warnings},
            {"host_view", r.host_layout ? host_view_json(*r.host_layout) : nlohmann::json(nullptr)},
            {"capabilities", r.capabilities},
            {"module_watch", r.watched_modules},
            {"tier_asked", tier_choice_name(r.tier_asked)},
            {"pid", r.pid}};
  }
  nlohmann::json operator()(const Stats& s) const {
    nlohmann::json counters = nlohmann::json::object();
    for (const auto& [name, value] : s.counters) counters[name] = value;
    nlohmann::json mounts = nlohmann::json::array();
    for (const auto& m : s.tracked_mounts)
      mounts.push_back({{"mntns", m.mntns}, {"mountpoint", m.mountpoint}, {"device", m.device.str()}});
    return {{"event", "stats"}, {"counters", counters}, {"bounds", bounds_json(s.bounds)}, {"tracked_mounts", mounts}};
  }
  nlohmann::json operator()(const HoldersFound& h) const {
    const DeviceHolders& d = h.device;
    return {{"event", "holders"},
            {"device", device_json(d.device)},
            {"host_mounted", d.host_mounted},
            {"leaked", d.leaked()},
            {"holders", holders_json(d.holders)},
            {"ceph", ceph_json(d)}};
  }
  nlohmann::json operator()(const ScanSummary& s) const {
    nlohmann::json issues = nlohmann::json::array();
    for (const auto& i : s.issues) issues.push_back({{"file", i.origin}, {"line", i.line}, {"reason", i.reason}});
    nlohmann::json j = {{"event", "scan_summary"},
                        {"method", s.method},
                        {"method_note", s.method_note.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.method_note)},
                        {"host_mntns", s.host_mntns},
                        {"host_mntns_source", s.host_mntns_source},
                        {"devices", s.devices},
                        {"needs_action", s.needs_action},
                        {"counters", scan_counters_json(s.counters)},
                        {"issues", issues},
                        {"warnings", s.warnings},
                        {"host_view", s.layout ? host_view_json(*s.layout) : nlohmann::json(nullptr)}};
    if (s.risks) j["risks"] = *s.risks;
    return j;
  }
  nlohmann::json operator()(const KernelEvent& e) const { return raw_event_json(e); }
  nlohmann::json operator()(const NodeFact& f) const { return recorded_fact_json(f); }
};

}  // namespace

nlohmann::json event_json(const Event& event) { return std::visit(EventJson{}, event); }

nlohmann::json record_json(const Record& record) {
  nlohmann::json j = event_json(record.event);
  j["time"] = rfc3339(record.time);
  return j;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "output/recorded_facts_json.h"

#include "output/holders_json.h"

namespace mountleak {

namespace {

nlohmann::json namespace_json(const MountNamespace& ns) {
  nlohmann::json j = {{"inode", ns.inode}, {"pids", ns.pids}, {"mountinfo", mountinfo_text(ns.mounts)}};
  // Rare fields only when set: a snapshot holds every namespace of the node.
  if (ns.pinned_only) j["pinned_only"] = true;
  if (!ns.pinned_at.empty()) j["pinned_at"] = ns.pinned_at;
  if (ns.pinned_from) j["pinned_from"] = ns.pinned_from;
  if (ns.held_open_by > 0) j["held_open_by"] = {{"pid", ns.held_open_by}, {"fd", ns.held_open_fd}};
  if (ns.trimmed) j["trimmed"] = true;
  if (!ns.read_error.empty()) j["read_error"] = ns.read_error;
  return j;
}

nlohmann::json settings_json(const RecordedSettings& s) {
  return {{"settle_ms", s.settle_ms},
          {"max_delay_ms", s.max_delay_ms},
          {"young_ms", s.young_ms},
          {"liveness_period_ms", s.liveness_period_ms},
          {"reconcile_propagation", s.reconcile_propagation},
          {"discover_in_sweep", s.discover_in_sweep},
          {"max_namespaces", s.max_namespaces},
          {"max_mounts", s.max_mounts},
          {"max_mountinfo_bytes", s.max_mountinfo_bytes},
          {"resync_min_interval_ms", s.resync_min_interval_ms},
          {"resync_max_interval_ms", s.resync_max_interval_ms}};
}

struct FactJson {
  nlohmann::json operator()(const RecordedSnapshot& f) const {
    nlohmann::json j = {{"event", "recorded_snapshot"}, {"start", f.start}};
    if (f.settings) j["settings"] = settings_json(*f.settings);
    if (!f.error.empty()) {
      j["error"] = f.error;
      return j;
    }
    const NodeSnapshot& s = f.snapshot;
    j["host_mntns"] = s.host_mntns;
    j["namespaces"] = nlohmann::json::array();
    for (const auto& [inode, ns] : s.namespaces) j["namespaces"].push_back(namespace_json(ns));
    j["counters"] = {{"namespaces_left_out", s.counters.namespaces_left_out},
                     {"namespaces_trimmed", s.counters.namespaces_trimmed},
                     {"mountinfo_too_large", s.counters.mountinfo_too_large}};
    j["warnings"] = s.warnings;
    return j;
  }
  nlohmann::json operator()(const RecordedRead& f) const {
    nlohmann::json j = {{"event", "recorded_read"}, {"pid", f.pid}};
    if (f.error_errno != 0) {
      j["errno"] = f.error_errno;
      j["error"] = f.error;
      return j;
    }
    j["inode"] = f.ns.inode;
    j["mountinfo"] = mountinfo_text(f.ns.mounts);
    return j;
  }
  nlohmann::json operator()(const RecordedMembers& f) const {
    nlohmann::json set = nlohmann::json::array();
    for (const auto& [inode, pids] : f.set) set.push_back({{"inode", inode}, {"pids", pids}});
    return {{"event", "recorded_members"}, {"full", f.full}, {"set", set}, {"gone", f.gone}};
  }
  nlohmann::json operator()(const RecordedNamespaceOf& f) const {
    return {{"event", "recorded_namespace_of"},
            {"pid", f.pid},
            {"inode", f.inode ? nlohmann::json(*f.inode) : nlohmann::json(nullptr)}};
  }
  nlohmann::json operator()(const RecordedAttribution& f) const {
    if (f.same) return {{"event", "recorded_attribution"}, {"pids", f.who.pids}, {"same", true}};
    nlohmann::json j = attribution_json(f.who);
    j["event"] = "recorded_attribution";
    if (!f.asked.empty()) j["asked"] = f.asked;
    if (!f.who.how.empty()) j["how"] = f.who.how;
    if (!f.who.container_mounts.empty()) {
      nlohmann::json mounts = nlohmann::json::array();
      for (const auto& m : f.who.container_mounts)
        mounts.push_back({{"source", m.source},
                          {"destination", m.destination},
                          {"type", m.type},
                          {"options", m.options},
                          {"propagation", m.propagation}});
      j["container_mounts"] = mounts;
    }
    return j;
  }
  nlohmann::json operator()(const RecordedDevice& f) const {
    nlohmann::json j = {{"event", "recorded_device"}, {"dev", f.dev.str()}};
    if (f.tracked) j["tracked"] = *f.tracked;
    if (f.described) j["device"] = device_json(*f.described);
    return j;
  }
  nlohmann::json operator()(const RecordedHostLayout& f) const {
    const HostDirectory& k = f.kubelet;
    nlohmann::json place = nullptr;
    if (k.place) place = {{"dev", k.place->dev.str()}, {"path", k.place->path}};
    return {{"event", "recorded_host_layout"},
            {"host_root", f.host_root},
            {"kubelet_root",
             {{"configured", k.configured},
              {"host_path", k.host_path},
              {"place", place},
              {"spellings", k.spellings},
              {"note", k.note}}}};
  }
  nlohmann::json operator()(const RecordedBusyDevice& f) const {
    return {{"event", "recorded_busy_device"},
            {"pid", f.pid},
            {"ts_ns", f.ts_ns},
            {"dev", f.dev ? nlohmann::json(f.dev->str()) : nlohmann::json(nullptr)},
            {"from", f.from}};
  }
  nlohmann::json operator()(const RecordedHeldOpen& f) const {
    nlohmann::json j = {{"event", "recorded_held_open"}, {"inode", f.inode}, {"pid", nullptr}};
    if (f.pid > 0) {
      j["pid"] = f.pid;
      j["fd"] = f.fd;
    }
    return j;
  }
  nlohmann::json operator()(const RecordedOpenHolders& f) const {
    nlohmann::json found = nlohmann::json::array();
    for (const auto& h : f.found)
      found.push_back({{"pid", h.pid},
                       {"fd", h.fd},
                       {"target", h.target},
                       {"dev", h.dev.str()},
                       {"kind", h.kind},
                       {"device_node", h.device_node},
                       {"mntns", h.mntns}});
    return {{"event", "recorded_open_holders"}, {"dev", f.dev.str()}, {"found", found}};
  }
};

}  // namespace

std::string mountinfo_text(const std::vector<MountEntry>& mounts) {
  std::string out;
  for (const auto& m : mounts) {
    out += format_mountinfo_line(m);
    out += '\n';
  }
  return out;
}

nlohmann::json recorded_fact_json(const NodeFact& fact) { return std::visit(FactJson{}, fact); }

}  // namespace mountleak

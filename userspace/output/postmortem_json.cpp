// SPDX-License-Identifier: Apache-2.0
#include "output/postmortem_json.h"

#include "output/holders_json.h"

namespace mountleak {

namespace {

using Json = nlohmann::json;

Json or_null(const std::string& s) { return s.empty() ? Json(nullptr) : Json(s); }

std::string time_text(LogMicros t) {
  return rfc3339(std::chrono::system_clock::time_point(std::chrono::microseconds(t)));
}

Json owner_fields(Json j, const LoggedOwner& o) {
  j["container"] = o.container ? Json{{"runtime", or_null(o.container->runtime)},
                                      {"id", o.container->id},
                                      {"name", or_null(o.container->name)}}
                               : Json(nullptr);
  j["pod"] = o.pod ? Json{{"namespace", or_null(o.pod->namespace_)},
                          {"name", or_null(o.pod->name)},
                          {"uid", or_null(o.pod->uid)}}
                   : Json(nullptr);
  return j;
}

Json device_fields(const LoggedDevice& d) {
  Json j = {{"path", d.path}, {"major", d.major}, {"minor", d.minor}, {"name", or_null(d.name)}};
  j["rbd"] = d.rbd_pool.empty() ? Json(nullptr) : Json{{"pool", d.rbd_pool}, {"image", d.rbd_image}};
  if (!d.backing_file.empty()) j["backing_file"] = d.backing_file;
  return j;
}

Json culprit_fields(const std::optional<LoggedCulprit>& c) {
  if (!c) return nullptr;
  Json j = {{"pid", c->pid}, {"comm", c->comm}};
  if (!c->cmdline.empty()) j["cmdline"] = c->cmdline;
  return owner_fields(std::move(j), c->owner);
}

Json process_list(const std::vector<LoggedProcess>& ps) {
  Json out = Json::array();
  for (const auto& p : ps) out.push_back({{"pid", p.pid}, {"comm", p.comm}, {"cmdline", p.cmdline}});
  return out;
}

Json step_json(const HistoryStep& s) {
  Json j = {{"time", time_text(s.time)},
            {"step", step_kind_name(s.kind)},
            {"from", s.from_finding ? "finding" : "kernel_event"},
            {"mntns", s.mntns ? Json(s.mntns) : Json(nullptr)},
            {"host", s.host},
            {"process", culprit_fields(s.who)}};
  if (s.from_mntns) j["from_mntns"] = s.from_mntns;
  if (!s.source.empty()) j["source"] = s.source;
  if (!s.target.empty()) j["target"] = s.target;
  if (!s.propagation.empty()) j["propagation"] = s.propagation;
  if (!s.detail.empty()) j["detail"] = s.detail;
  if (s.bind) {
    j["bind"] = {{"source", s.bind->source ? Json(*s.bind->source) : Json(nullptr)},
                 {"kubelet_root", s.bind->kubelet_root},
                 {"mountpoint", s.bind->mountpoint},
                 {"propagation", s.bind->propagation}};
    if (!s.bind->source) j["bind"]["source_unknown"] = s.bind->source_unknown;
  }
  if (s.from_finding) {
    Json holders = Json::array();
    for (const auto& h : s.holders) {
      Json hj = owner_fields({{"role", h.role}, {"mntns", h.mntns ? Json(h.mntns) : Json(nullptr)},
                              {"mountpoint", or_null(h.mountpoint)}},
                             h.owner);
      holders.push_back(std::move(hj));
    }
    j["holders"] = std::move(holders);
  }
  return j;
}

Json held_json(const HeldCopy& h) {
  Json j = {{"mntns", h.mntns},
            {"host", h.host},
            {"role", or_null(h.role)},
            {"mountpoints", Json(std::vector<std::string>(h.mountpoints.begin(), h.mountpoints.end()))},
            {"root", or_null(h.root)},
            {"propagation", or_null(h.propagation)},
            {"processes", process_list(h.processes)},
            {"via", or_null(h.via)},
            {"hint", or_null(h.hint)},
            {"since", time_text(h.since)},
            {"confirmed", h.confirmed ? Json(time_text(h.confirmed)) : Json(nullptr)}};
  return owner_fields(std::move(j), h.owner);
}

Json lineage_json(const CopyLineage& l) {
  Json steps = Json::array();
  for (const auto& s : l.steps) steps.push_back(step_json(s));
  return owner_fields({{"mntns", l.copy.mntns},
                       {"namespaces", l.namespaces},
                       {"reaches_host", l.reaches_host},
                       {"steps", std::move(steps)},
                       {"mountpoints", Json(std::vector<std::string>(l.copy.mountpoints.begin(),
                                                                     l.copy.mountpoints.end()))}},
                      l.copy.owner);
}

}  // namespace

std::string_view step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::kMounted: return "mounted";
    case StepKind::kBound: return "bound";
    case StepKind::kCopied: return "copied";
    case StepKind::kPropagated: return "propagated";
    case StepKind::kEntered: return "entered";
    case StepKind::kPropagation: return "propagation";
    case StepKind::kHostpathRisk: return "hostpath_risk";
    case StepKind::kUnmounted: return "unmounted";
    case StepKind::kLeak: return "leak";
    case StepKind::kBusy: return "busy";
  }
  return "unknown";
}

nlohmann::json device_report_json(const DeviceReport& d) {
  Json timeline = Json::array();
  for (const auto& s : d.timeline) timeline.push_back(step_json(s));
  Json holders = Json::array();
  for (const auto& h : d.holders) holders.push_back(held_json(h));
  Json lineage = Json::array();
  for (const auto& l : d.lineages) lineage.push_back(lineage_json(l));
  return {{"event", "report_device"},
          {"device", device_fields(d.device)},
          {"host_mntns", d.host_mntns ? Json(d.host_mntns) : Json(nullptr)},
          {"timeline", std::move(timeline)},
          {"at", time_text(d.at)},
          {"holders", std::move(holders)},
          {"lineage", std::move(lineage)}};
}

nlohmann::json report_summary_json(const PostmortemReport& r) {
  return {{"event", "report_summary"},
          {"files", r.files},
          {"first", r.first ? Json(time_text(*r.first)) : Json(nullptr)},
          {"last", r.last ? Json(time_text(*r.last)) : Json(nullptr)},
          {"devices", r.devices.size()},
          {"lines", r.lines},
          {"unparsed_lines", r.unparsed},
          {"torn_tails", r.torn_tails},
          {"lost_events", r.lost_events},
          {"host_mntns", r.host_mntns ? Json(r.host_mntns) : Json(nullptr)},
          {"warnings", r.warnings}};
}

}  // namespace mountleak

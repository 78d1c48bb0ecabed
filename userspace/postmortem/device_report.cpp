// SPDX-License-Identifier: Apache-2.0
#include "postmortem/device_report.h"

#include "postmortem/device_selection.h"

namespace mountleak {

namespace {

bool step_names_pod(const HistoryStep& s, const std::string& pod) {
  if (s.who && pod_matches(s.who->owner, pod)) return true;
  for (const auto& h : s.holders)
    if (pod_matches(h.owner, pod)) return true;
  return false;
}

bool any_pod(const std::vector<std::string>& pods, const LoggedOwner& owner) {
  for (const auto& p : pods)
    if (pod_matches(owner, p)) return true;
  return false;
}

}  // namespace

PostmortemReport build_postmortem_report(const LogRecords& log, const ReportQuery& query,
                                         std::vector<std::string> files) {
  PostmortemReport report;
  report.files = std::move(files);
  report.lines = log.lines;
  report.unparsed = log.unparsed;
  report.torn_tails = log.torn_tails;
  report.lost_events = log.lost_events;
  report.warnings = log.warnings;
  if (!log.entries.empty()) {
    report.first = *log.entries.front().time;
    report.last = *log.entries.back().time;
  }
  report.host_mntns = host_mntns_of(log);
  if (!report.host_mntns)
    report.warnings.push_back(
        "the log names no host mount namespace (no ready event, no host holder): lineages cannot say where "
        "they start");
  if (log.lost_events)
    report.warnings.push_back(std::to_string(log.lost_events) +
                              " kernel events were lost while tracing: a history may miss steps");

  const LogMicros at = query.at ? *query.at : query.until ? *query.until : report.last.value_or(0);
  for (const LoggedDevice& device : select_devices(log, query)) {
    DeviceHistory history = build_device_history(log, device, report.host_mntns);
    if (history.namespaces_not_followed)
      report.warnings.push_back(std::to_string(history.namespaces_not_followed) + " new namespaces of the log were " +
                                "not followed for " + device.path + " (too many): a lineage may stop short");
    if (!query.pods.empty()) {
      bool named = false;
      for (const auto& s : history.steps)
        for (const auto& p : query.pods) named = named || step_names_pod(s, p);
      if (!named) continue;
    }
    DeviceReport d;
    d.device = device;
    d.host_mntns = report.host_mntns;
    d.at = at;
    for (const auto& s : history.steps)
      if ((!query.since || s.time >= *query.since) && (!query.until || s.time <= *query.until))
        d.timeline.push_back(s);
    for (auto& h : holders_at(history, at)) {
      if (!query.pods.empty() && !h.host && !any_pod(query.pods, h.owner)) continue;
      if (!h.host) d.lineages.push_back(lineage_of(history, h, at));
      d.holders.push_back(std::move(h));
    }
    report.devices.push_back(std::move(d));
  }
  return report;
}

}  // namespace mountleak

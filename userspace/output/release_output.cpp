// SPDX-License-Identifier: Apache-2.0
#include "output/release_output.h"

#include <fmt/core.h>

#include <algorithm>

#include "output/holders_json.h"
#include "output/printable.h"

namespace mountleak {

namespace {

std::string device_name(const DeviceRef& d) { return d.path.empty() ? d.dev.str() : d.path; }

// "pod kube-system/log-collector, container fluentd (containerd 3f2a9c1b2d4e), PIDs 1234 5678"
std::string who_text(const Holder& h) {
  std::vector<std::string> parts;
  if (h.who.pod) parts.push_back("pod " + h.who.pod->namespace_ + "/" + h.who.pod->name);
  if (h.who.container) {
    const auto& c = *h.who.container;
    const std::string id = (c.runtime.empty() ? "" : c.runtime + " ") + c.id.substr(0, 12);
    parts.push_back("container " + (c.name.empty() ? id : c.name + " (" + id + ")"));
  }
  if (!h.who.pids.empty()) {
    std::string pids = h.who.pids.size() == 1 ? "PID" : "PIDs";
    for (size_t i = 0; i < h.who.pids.size() && i < 8; ++i) pids += " " + std::to_string(h.who.pids[i]);
    if (h.who.pids.size() > 8) pids += " ...";
    parts.push_back(pids);
  } else if (!h.pinned_at.empty()) {
    parts.push_back("no process, kept by the nsfs pin " + h.pinned_at);
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

std::string verb(ReleaseAction a) {
  switch (a) {
    case ReleaseAction::kPlanned: return "would unmount";
    case ReleaseAction::kDone: return "unmounted";
    case ReleaseAction::kKept: return "left alone";
    case ReleaseAction::kRefused: return "refused";
    case ReleaseAction::kFailed: return "FAILED";
  }
  return "?";
}

}  // namespace

nlohmann::json release_step_json(const ReleaseStep& s, bool dry_run, std::chrono::system_clock::time_point time) {
  const Holder& h = s.holder;
  nlohmann::json who = attribution_json(h.who);
  nlohmann::json j = {{"event", "release"},
                      {"time", rfc3339(time)},
                      {"action", std::string(release_action_name(s.action))},
                      {"dry_run", dry_run},
                      {"role", std::string(holder_role_name(h.role))},
                      {"device", device_json(s.device)},
                      {"mntns", h.mntns ? nlohmann::json(h.mntns) : nlohmann::json(nullptr)},
                      {"container", who["container"]},
                      {"pod", who["pod"]},
                      {"pids", h.who.pids},
                      {"processes", who["processes"]},
                      {"mountpoints", s.unmount.empty() ? h.mountpoints : s.unmount}};
  if (!s.reason.empty()) j["reason"] = s.reason;
  if (s.action == ReleaseAction::kDone || s.action == ReleaseAction::kFailed) j["unmounted"] = s.unmounted;
  if (s.action == ReleaseAction::kFailed) {
    j["errno"] = s.errno_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.errno_name);
    j["message"] = s.reason;
    if (!s.failed_at.empty()) j["failed_at"] = s.failed_at;
  }
  if (s.lazy) {
    j["lazy"] = true;
    j["warning"] = "detached lazily (MNT_DETACH): the device stays busy while files on this copy are open";
  }
  if (!h.pinned_at.empty()) j["pinned_at"] = h.pinned_at;
  if (h.held_open_by > 0) j["held_open_by"] = holder_json(h)["held_open_by"];
  if (h.role == HolderRole::kFd) j["fds"] = holder_json(h)["fds"];
  if (h.role == HolderRole::kStacked) j["stacked_device"] = h.stacked_device;
  return j;
}

nlohmann::json release_summary_json(const ReleaseReport& r, std::chrono::system_clock::time_point time) {
  nlohmann::json still = nlohmann::json::array();
  for (const auto& d : r.still_leaked) still.push_back(device_json(d));
  return {{"event", "release_summary"}, {"time", rfc3339(time)},         {"dry_run", r.dry_run},
          {"devices", r.devices},        {"still_leaked", std::move(still)}, {"needs_operator", r.needs_operator()}};
}

std::string release_device_heading(const DeviceRef& d) {
  std::string name = device_name(d) + " (" + d.dev.str() + ")";
  if (d.rbd) name += "  rbd " + d.rbd->pool + "/" + d.rbd->image;
  return printable(name);
}

std::string release_step_text(const ReleaseStep& s) {
  const Holder& h = s.holder;
  std::string head = fmt::format("  {:<13} {:<8} mntns {}", verb(s.action), holder_role_name(h.role),
                                 h.mntns ? std::to_string(h.mntns) : std::string("-"));
  const std::string who = who_text(h);
  if (!who.empty()) head += ": " + printable(who);
  std::string out = head + "\n";
  const std::vector<std::string>& mps = s.unmount.empty() ? h.mountpoints : s.unmount;
  if (!s.unmount.empty()) out += "      mount points, deepest first:\n";
  else if (!mps.empty()) out += "      mount points:\n";
  for (const auto& mp : mps) {
    const bool went = std::find(s.unmounted.begin(), s.unmounted.end(), mp) != s.unmounted.end();
    out += "        " + printable(mp) + (s.action == ReleaseAction::kFailed && went ? "  (unmounted)" : "") + "\n";
  }
  if (!s.reason.empty())
    out += "      " + std::string(s.action == ReleaseAction::kFailed ? "error" : "why") + ": " +
           printable(s.errno_name.empty() ? s.reason : s.errno_name + ": " + s.reason) + "\n";
  if (s.lazy && (s.action == ReleaseAction::kPlanned || s.action == ReleaseAction::kDone))
    out += "      warning: detached lazily (MNT_DETACH): the device stays busy while files on this copy are open\n";
  return out;
}

std::string release_summary_text(const ReleaseReport& r) {
  if (r.devices == 0) return "Nothing to release: no leaked or held tracked device found.\n";
  std::string out;
  if (r.dry_run) {
    out = "Dry run: nothing was changed. Run again with --yes to unmount the copies marked \"would unmount\".\n";
    if (!r.still_leaked.empty()) {
      out += "Leaked now:";
      for (const auto& d : r.still_leaked) out += " " + printable(device_name(d));
      out += "\n";
    }
    return out;
  }
  if (r.still_leaked.empty()) {
    out = "Scanned again: no leaked copy of the device remains.\n";
  } else {
    out = "Scanned again: still leaked:";
    for (const auto& d : r.still_leaked) out += " " + printable(device_name(d));
    out += "\n";
  }
  return out;
}

}  // namespace mountleak

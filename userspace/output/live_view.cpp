// SPDX-License-Identifier: Apache-2.0
#include "output/live_view.h"

#include <fmt/core.h>

#include "output/printable.h"

namespace mountleak {

namespace {

std::string str(const nlohmann::json& j, const char* key, const std::string& dflt = "-") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  return printable(it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::string clock_of(const nlohmann::json& event) {
  std::string t = str(event, "time", "");
  return t.size() >= 19 ? t.substr(11, 8) : t;
}

std::string who(const nlohmann::json& h) {
  std::string out;
  if (h.contains("container") && !h["container"].is_null()) {
    const auto& c = h["container"];
    std::string name = str(c, "name", "");
    std::string id = str(c, "id", "").substr(0, 12);
    out = name.empty() ? "container " + id : "container " + name + " (" + id + ")";
  }
  if (h.contains("pod") && !h["pod"].is_null()) {
    const auto& p = h["pod"];
    std::string name = str(p, "name", "");
    out += (out.empty() ? "" : ", ") +
           (name.empty() ? "pod uid " + str(p, "uid") : "pod " + str(p, "namespace") + "/" + name);
  }
  return out.empty() ? "no container" : out;
}

std::string process(const nlohmann::json& p) {
  return fmt::format("{}[{}] ({})", str(p, "comm"), str(p, "pid"), who(p));
}

std::string device(const nlohmann::json& event) {
  const auto& d = event["device"];
  std::string out = fmt::format("{} ({}:{})", str(d, "path"), str(d, "major"), str(d, "minor"));
  if (d.contains("rbd") && !d["rbd"].is_null())
    out += fmt::format(" rbd {}/{}", str(d["rbd"], "pool"), str(d["rbd"], "image"));
  return out;
}

std::string holders(const nlohmann::json& event) {
  std::string out;
  for (const auto& h : event["holders"]) {
    std::string pid = h["processes"].empty() ? "" : fmt::format(" {}[{}]", str(h["processes"][0], "comm"),
                                                                str(h["processes"][0], "pid"));
    out += fmt::format("    {:<8} mntns {}{}  {}  at {}\n", str(h, "role"), str(h, "mntns"), pid, who(h),
                       str(h, "mountpoint", h.contains("fds") ? "open file" : "-"));
    if (h.contains("via") && !h["via"].is_null()) out += "             via  " + str(h, "via") + "\n";
    if (h.contains("hint") && !h["hint"].is_null()) out += "             hint " + str(h, "hint") + "\n";
  }
  return out;
}

}  // namespace

std::string live_view_text(const nlohmann::json& event) {
  std::string kind = str(event, "event");
  std::string t = clock_of(event);
  if (kind == "ready") {
    std::string tiers;
    for (const auto& [hook, tier] : event["tier"].items())
      tiers += fmt::format(" {}={}", hook, tier.is_null() ? "NONE" : tier.get<std::string>());
    std::string paths;
    if (event.contains("host_view") && str(event["host_view"], "host_root") != "/")
      paths = "; paths are " + str(event["host_view"], "paths");
    return fmt::format("{} ready: watching {} mount namespaces, {} tracked device(s) mounted;{}{}\n", t,
                       str(event, "namespaces"), str(event, "tracked_devices"), tiers, paths);
  }
  if (kind == "leak")
    return fmt::format("{} LEAK {}: the host unmounted it{}; still held by\n{}", t, device(event),
                       event.contains("unmounted_by") ? " (" + process(event["unmounted_by"]) + ")" : "",
                       holders(event));
  if (kind == "busy")
    return fmt::format("{} BUSY {}: {} of {} failed with EBUSY in {}; held by\n{}", t, device(event),
                       str(event, "source"), str(event, "path"), process(event["process"]), holders(event));
  if (kind == "mntns_copy")
    return fmt::format("{} COPY {}: new mount namespace {} (from {}, created by {}) keeps a private copy\n{}",
                       t, device(event), str(event, "mntns"), str(event, "from_mntns"),
                       process(event["creator"]), holders(event));
  if (kind == "hostpath_risk")
    return fmt::format("{} RISK {}: {} bound at {} with {} propagation will keep it after the host "
                       "unmounts\n{}",
                       t, device(event), str(event["bind"], "source"), str(event["bind"], "mountpoint"),
                       str(event["bind"], "propagation"), holders(event));
  if (kind == "lost")
    return fmt::format("{} LOST {} event(s) in the kernel; resynchronising from /proc\n", t, str(event, "count"));
  if (kind == "resync")
    return fmt::format("{} resync: {} namespaces re-read in {} ms\n", t, str(event, "namespaces"),
                       str(event, "duration_ms"));
  if (kind == "stats") return fmt::format("{} stopped: {}\n", t, str(event, "counters"));
  // Raw kernel events (--all-events): compact, one line.
  std::string detail;
  for (const char* key : {"source", "target", "path", "from", "to", "flags", "propagation", "old_mntns"})
    if (event.contains(key)) detail += fmt::format(" {}={}", key, str(event, key));
  return fmt::format("{} {:<13} {}[{}] mntns {} ret {}{}\n", t, kind, str(event, "comm"), str(event, "pid"),
                     str(event, "mntns"), str(event, "ret"), detail);
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "output/holders_table.h"

#include <fmt/core.h>

#include <algorithm>

#include "output/printable.h"

namespace mountleak {

namespace {

std::string container_text(const Attribution& who) {
  if (!who.container) return "-";
  const auto& c = *who.container;
  std::string id = c.id.substr(0, 12);
  std::string runtime = c.runtime.empty() ? "" : c.runtime + " ";
  return printable(c.name.empty() ? runtime + id : c.name + " (" + runtime + id + ")");
}

std::string pod_text(const Attribution& who) {
  if (!who.pod) return "-";
  if (who.pod->name.empty()) return printable("uid " + who.pod->uid);
  return printable(who.pod->namespace_ + "/" + who.pod->name);
}

std::string process_text(const Attribution& who) {
  if (who.processes.empty()) return who.pids.empty() ? "no process" : fmt::format("{} pids", who.pids.size());
  const auto& p = who.processes.front();
  std::string more = who.pids.size() > 1 ? fmt::format(" +{}", who.pids.size() - 1) : "";
  return fmt::format("{} {}{}", p.pid, printable(p.comm), more);
}

}  // namespace

std::string device_heading(const DeviceHolders& d) {
  std::string rbd;
  if (d.device.rbd)
    rbd = printable(fmt::format("  rbd {}/{}{}", d.device.rbd->pool, d.device.rbd->image,
                                d.device.rbd->rados_namespace.empty() ? "" : " ns " + d.device.rbd->rados_namespace));
  std::string state;
  if (d.leaked())
    state = d.host_mounted ? "LEAK RISK: a private copy will outlive the host's unmount"
                           : "LEAKED: the host unmounted it, copies keep it busy";
  else if (d.needs_action())
    state = "BUSY: held open";
  else if (d.holders.empty())
    state = "not held";
  else
    state = "ok";
  return fmt::format("{} ({}){}  {}\n", printable(d.device.path), d.device.dev.str(), rbd, state);
}

std::string holder_lines(const Holder& h, const std::string& indent) {
  std::string where = !h.mountpoint.empty() ? h.mountpoint
                      : !h.fds.empty()      ? h.fds.front().target
                                            : h.stacked_device;
  where = printable(where);
  if (h.mountpoints.size() > 1) where += fmt::format(" (+{} more)", h.mountpoints.size() - 1);
  std::string out = fmt::format("{}{:<8} mntns {:<11} {:<18} {:<34} {:<28} {}\n", indent,
                                holder_role_name(h.role), h.mntns ? std::to_string(h.mntns) : "-",
                                process_text(h.who), container_text(h.who), pod_text(h.who), where);
  if (!h.pinned_at.empty())
    out += fmt::format("{}         kept alive by nsfs mount {}\n", indent, printable(h.pinned_at));
  if (h.held_open_by > 0)
    out += fmt::format("{}         kept alive by descriptor {} of process {}\n", indent, h.held_open_fd,
                       h.held_open_by);
  if (!h.via.empty() && h.role != HolderRole::kHost)
    out += fmt::format("{}         via  {}\n", indent, printable(h.via));
  if (!h.hint.empty()) out += fmt::format("{}         hint {}\n", indent, printable(h.hint));
  return out;
}

std::string ceph_lines(const DeviceHolders& d) {
  if (!d.ceph_error.empty()) return fmt::format("  ceph: {}\n", printable(d.ceph_error));
  if (!d.ceph) return "";
  std::string out;
  for (const auto& w : d.ceph->watchers)
    out += fmt::format("  ceph watcher client.{} at {}\n", w.global_id, w.address);
  for (const auto& l : d.ceph->lockers)
    out += fmt::format("  ceph {} lock held by {} at {} (cookie {})\n", d.ceph->lock_exclusive ? "exclusive" : "shared",
                       l.client, l.address, l.cookie);
  if (out.empty()) out = "  ceph: no watchers, no lockers\n";
  return out;
}

std::string device_block(const DeviceHolders& d) {
  std::string out = device_heading(d) + ceph_lines(d);
  if (d.holders.empty()) return out;
  out += fmt::format("  {:<8} {:<17} {:<18} {:<34} {:<28} {}\n", "ROLE", "NAMESPACE", "PROCESS",
                     "CONTAINER", "POD", "MOUNTPOINT / FILE");
  for (const auto& h : d.holders) out += holder_lines(h);
  return out;
}

std::string risks_heading() {
  return fmt::format("{:<17} {:<18} {:<34} {:<28} {}\n", "NAMESPACE", "PROCESS", "CONTAINER", "POD",
                     "PRIVATE BIND OF");
}

std::string risk_block(const HostpathRisk& r) {
  static const Attribution kNobody;
  const Attribution& who = r.who ? *r.who : kNobody;
  std::string source = r.bind.source.path ? printable(*r.bind.source.path) : "(not visible on the host)";
  if (r.bind.kubelet_root)
    source += " (the kubelet root)";
  else if (r.bind.cover == Cover::kAncestor)
    source += " (above the kubelet root)";
  else if (r.bind.cover == Cover::kBelow)
    source += " (below the kubelet root, where volumes are mounted)";
  std::string out = fmt::format("mntns {:<11} {:<18} {:<34} {:<28} {} at {}, {}\n", r.mntns, process_text(who),
                                container_text(who), pod_text(who), source, printable(r.bind.mountpoint),
                                propagation_name(r.bind.propagation));
  if (!r.pinned_at.empty()) out += fmt::format("  kept alive by nsfs mount {}\n", printable(r.pinned_at));
  if (!r.via.empty()) out += fmt::format("  via  {}\n", printable(r.via));
  if (!r.hint.empty()) out += fmt::format("  hint {}\n", printable(r.hint));
  return out;
}

}  // namespace mountleak

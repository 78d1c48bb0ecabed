// SPDX-License-Identifier: Apache-2.0
#include "output/postmortem_table.h"

#include <fmt/core.h>

#include "output/holders_json.h"
#include "output/postmortem_json.h"
#include "output/printable.h"

namespace mountleak {

namespace {

std::string time_text(LogMicros t) {
  return rfc3339(std::chrono::system_clock::time_point(std::chrono::microseconds(t)));
}

std::string container_text(const LoggedOwner& o) {
  if (!o.container) return "";
  const auto& c = *o.container;
  const std::string id = c.id.substr(0, 12);
  const std::string runtime = c.runtime.empty() ? "" : c.runtime + " ";
  return printable(c.name.empty() ? runtime + id : c.name + " (" + runtime + id + ")");
}

std::string pod_text(const LoggedOwner& o) {
  if (!o.pod) return "";
  if (o.pod->name.empty()) return printable("uid " + o.pod->uid);
  return printable(o.pod->namespace_ + "/" + o.pod->name);
}

// "container fluentd (containerd 3f2a9c1b07de) pod kube-system/fluentd-x7k2p", or "".
std::string owner_text(const LoggedOwner& o) {
  std::string out;
  if (o.container) out += "container " + container_text(o);
  if (o.pod) out += (out.empty() ? "" : " ") + std::string("pod ") + pod_text(o);
  return out;
}

std::string who_text(const std::optional<LoggedCulprit>& c) {
  if (!c) return "";
  std::string out = fmt::format("by {} {}", c->pid, printable(c->comm));
  if (const std::string owner = owner_text(c->owner); !owner.empty()) out += " in " + owner;
  return out;
}

std::string where_text(const HistoryStep& s) {
  if (s.host) return "host";
  return s.mntns ? fmt::format("mntns {}", s.mntns) : "-";
}

std::string holders_text(const std::vector<LoggedHolder>& holders) {
  std::string out;
  for (const auto& h : holders) {
    std::string one = fmt::format("{} mntns {}", printable(h.role), h.mntns);
    if (const std::string owner = owner_text(h.owner); !owner.empty()) one += " " + owner;
    if (!h.mountpoint.empty()) one += " at " + printable(h.mountpoint);
    out += (out.empty() ? "" : "; ") + one;
  }
  return out.empty() ? "none listed" : out;
}

std::string what_text(const HistoryStep& s) {
  switch (s.kind) {
    case StepKind::kMounted:
      return fmt::format("{} on {}{}", printable(s.source), printable(s.target),
                         s.detail.empty() ? "" : " (" + printable(s.detail) + ")");
    case StepKind::kBound:
      return fmt::format("{} bound at {} ({})", printable(s.source), printable(s.target), printable(s.detail));
    case StepKind::kCopied:
      if (s.from_finding) return fmt::format("copied from mntns {}; holders: {}", s.from_mntns, holders_text(s.holders));
      return fmt::format("new namespace copied from mntns {}", s.from_mntns);
    case StepKind::kPropagated:
      return fmt::format("the kernel propagated a copy ({})", printable(s.target));
    case StepKind::kEntered:
      return fmt::format("a process entered it from mntns {}", s.from_mntns);
    case StepKind::kPropagation:
      return fmt::format("{} made {}{}", printable(s.target), printable(s.propagation),
                         s.detail == "mount_setattr" ? " (mount_setattr)" : "");
    case StepKind::kHostpathRisk: {
      if (!s.bind) return "a directory holding it bound in";
      const std::string source = s.bind->source ? printable(*s.bind->source)
                                                : "an unknown directory (" + printable(s.bind->source_unknown) + ")";
      return fmt::format("{}{} bound at {} with {} propagation; holders: {}", source,
                         s.bind->kubelet_root ? " (the kubelet root)" : "", printable(s.bind->mountpoint),
                         printable(s.bind->propagation), holders_text(s.holders));
    }
    case StepKind::kUnmounted:
      return fmt::format("{} unmounted{}", printable(s.target), s.detail.empty() ? "" : " (" + s.detail + ")");
    case StepKind::kLeak:
      return fmt::format("the host's last mount is gone{}; still held by: {}",
                         s.detail.empty() ? "" : " (" + s.detail + ")", holders_text(s.holders));
    case StepKind::kBusy:
      return fmt::format("{} of {} failed with EBUSY; held by: {}", printable(s.detail), printable(s.source),
                         holders_text(s.holders));
  }
  return "";
}

std::string process_text(const HeldCopy& h) {
  if (h.processes.empty()) return "-";
  const auto& p = h.processes.front();
  return fmt::format("{} {}{}", p.pid, printable(p.comm),
                     h.processes.size() > 1 ? fmt::format(" +{}", h.processes.size() - 1) : "");
}

std::string mountpoints_text(const std::set<std::string>& mps) {
  if (mps.empty()) return "-";
  std::string out = printable(*mps.begin());
  if (mps.size() > 1) out += fmt::format(" (+{} more)", mps.size() - 1);
  return out;
}

}  // namespace

std::string history_step_line(const HistoryStep& s, const std::string& indent) {
  std::string line = fmt::format("{}{}  {:<13} {:<17} {}", indent, time_text(s.time), step_kind_name(s.kind),
                                 where_text(s), what_text(s));
  if (const std::string who = who_text(s.who); !who.empty()) line += "  " + who;
  return line + "\n";
}

std::string device_report_block(const DeviceReport& d) {
  std::string out = fmt::format("{} ({}:{})", printable(d.device.path), d.device.major, d.device.minor);
  if (!d.device.rbd_pool.empty())
    out += fmt::format("  rbd {}/{}", printable(d.device.rbd_pool), printable(d.device.rbd_image));
  if (!d.device.backing_file.empty()) out += "  backing file " + printable(d.device.backing_file);
  out += "\n";

  out += "  TIMELINE\n";
  if (d.timeline.empty()) out += "    nothing in the span asked about\n";
  for (const auto& s : d.timeline) out += history_step_line(s, "    ");

  out += fmt::format("  HOLDERS AT {}\n", time_text(d.at));
  if (d.holders.empty()) out += "    none the log shows\n";
  for (const auto& h : d.holders) {
    const std::string container = container_text(h.owner), pod = pod_text(h.owner);
    out += fmt::format("    {:<8} {:<17} {:<18} {:<34} {:<28} {}\n", h.role.empty() ? "?" : printable(h.role),
                       h.host ? "host" : fmt::format("mntns {}", h.mntns), process_text(h),
                       container.empty() ? "-" : container, pod.empty() ? "-" : pod, mountpoints_text(h.mountpoints));
    out += h.confirmed ? fmt::format("             since {}, last listed by a finding at {}\n", time_text(h.since),
                                     time_text(h.confirmed))
                       : fmt::format("             since {}, from kernel events only\n", time_text(h.since));
    if (!h.via.empty() && !h.host) out += "             via  " + printable(h.via) + "\n";
    if (!h.hint.empty()) out += "             hint " + printable(h.hint) + "\n";
  }

  for (const auto& l : d.lineages) {
    std::string chain;
    for (uint64_t ns : l.namespaces)
      chain += (chain.empty() ? "" : " -> ") + (ns == d.host_mntns ? fmt::format("host {}", ns) : std::to_string(ns));
    out += fmt::format("  LINEAGE of mntns {}: {}{}\n", l.copy.mntns, chain,
                       l.reaches_host ? "" : " (the log does not show how it began)");
    for (const auto& s : l.steps) out += history_step_line(s, "    ");
    const std::string owner = owner_text(l.copy.owner);
    out += fmt::format("    => held by {} at {}\n", owner.empty() ? "no container the log names" : owner,
                       mountpoints_text(l.copy.mountpoints));
  }
  return out;
}

std::string report_summary_lines(const PostmortemReport& r) {
  std::string out = fmt::format("{} lines from {} file{}", r.lines, r.files.size(), r.files.size() == 1 ? "" : "s");
  if (r.first && r.last) out += fmt::format(", {} to {}", time_text(*r.first), time_text(*r.last));
  out += fmt::format("; {} device{}", r.devices.size(), r.devices.size() == 1 ? "" : "s");
  if (r.unparsed) out += fmt::format("; {} lines did not parse (skipped)", r.unparsed);
  if (r.torn_tails) out += fmt::format("; {} torn lines kept from crashes", r.torn_tails);
  return out + ".\n";
}

}  // namespace mountleak

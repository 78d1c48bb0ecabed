// SPDX-License-Identifier: Apache-2.0
// `scan --risks`: the node read once, each namespace's binds judged as
// trace judges a hostpath_risk, and each risky namespace named.

#include "findings/hostpath_risk.h"
#include "resolve/hints.h"
#include "scanner/scan.h"

namespace mountleak {

namespace {

HostpathRisk risk_of(uint64_t inode, const MountNamespace& ns, BoundDirectory bind, const Attribution& who) {
  HostpathRisk r;
  r.mntns = inode;
  r.bind = std::move(bind);
  r.who = who;
  r.pinned_at = ns.pinned_at;
  const std::string observed(propagation_name(r.bind.propagation));
  const OciMount* covering = mount_covering(who.container_mounts, r.bind.mountpoint);
  if (covering) r.via = describe_via(*covering, observed);

  HolderFacts facts;
  if (who.container) {
    facts.runtime = who.container->runtime;
    facts.container_name = who.container->name;
    facts.container_id = who.container->id;
  }
  facts.pod = who.pod ? &*who.pod : nullptr;
  facts.via = covering;
  facts.observed_propagation = observed;
  if (!who.processes.empty()) {
    facts.pid = who.processes.front().pid;
    facts.comm = who.processes.front().comm;
  }
  facts.mount_point = r.bind.mountpoint;
  facts.nsfs_pin = ns.pinned_at;
  r.hint = make_risk_hint(facts);
  return r;
}

}  // namespace

Result<ScanReport> run_risk_scan(const HostPaths& paths, const ScanRequest& request) {
  EnumerateOptions options;
  options.host_mntns = request.host_mntns;
  options.process_details = false;  // read lazily, only for the namespaces at risk
  options.mount_table = request.mount_table;
  auto snap = enumerate_node(paths, options);
  if (!snap) return snap.error();
  static const std::vector<MountEntry> kNoMounts;
  auto host = snap->namespaces.find(snap->host_mntns);
  const std::vector<MountEntry>& host_mounts = host != snap->namespaces.end() ? host->second.mounts : kNoMounts;
  ScanReport report = start_report(*snap, paths);
  report.risks_asked = true;
  const HostLayout& layout = *report.layout;

  Attributor attributor(paths, request.cmdline);
  attributor.set_host_mntns(snap->host_mntns);
  for (const auto& [inode, ns] : snap->namespaces) {
    if (inode == snap->host_mntns) continue;
    std::vector<BoundDirectory> binds = kubelet_root_binds(ns, host_mounts, layout);
    if (binds.empty()) continue;
    const Attribution who = attributor.attribute(ns.pids);
    for (auto& bind : binds) report.risks.push_back(risk_of(inode, ns, std::move(bind), who));
  }
  report.counters = snap->counters;
  return report;
}

}  // namespace mountleak

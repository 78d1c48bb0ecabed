// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mountleak scan` without the printing: resolve what the operator asked
// about, read every mount namespace once, and name the holders.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "findings/finding.h"
#include "findings/holders.h"
#include "model/node_snapshot.h"
#include "resolve/ceph_client.h"
#include "sources/namespace_enumerator.h"
#include "util/result.h"

namespace mountleak {

struct ScanRequest {
  std::vector<std::string> devices;  // /dev/rbd4, rbd4, 252:0
  std::vector<std::string> images;   // POOL/IMAGE
  std::vector<std::string> paths;    // every tracked device mounted under DIR
  bool all = false;                  // every leaked or shared tracked device
  // --risks: instead of devices, every container that binds a directory
  // exposing the kubelet's volume mounts with private propagation.
  bool risks = false;
  std::string host_mntns;            // "" = auto (PID 1, else our own)
  bool scan_fds = true;              // look for open descriptors too
  MountTableMethod mount_table = MountTableMethod::kAuto;  // --mount-table
  CmdlinePolicy cmdline = CmdlinePolicy::kRedacted;
  // Ask the Ceph cluster about rbd devices (watchers, lockers). Empty
  // conf_path: <host-root>/etc/ceph/ceph.conf when it exists, else skipped.
  bool ask_ceph = true;
  CephClientOptions ceph;
};

struct ScanReport {
  std::vector<DeviceHolders> devices;
  std::vector<HostpathRisk> risks;  // --risks
  bool risks_asked = false;
  std::string method;               // how mount tables were read: "statmount" or "mountinfo"
  std::string method_note;          // why mountinfo, when statmount was not used
  uint64_t host_mntns = 0;
  std::string host_mntns_source;
  ScanCounters counters;
  std::vector<ParseIssue> issues;
  std::vector<std::string> warnings;
  // How the host names paths (kubelet root, --host-root), from its mount table.
  std::optional<HostLayout> layout;
  // The processes of every namespace read, by inode: how `release` enters
  // a namespace an nsfs pin keeps (through a process of the pin's own).
  std::map<uint64_t, std::vector<int>> namespace_members;
  // For each namespace only an nsfs pin keeps: the namespace the pin is in
  // (Holder::pinned_at is a path there).
  std::map<uint64_t, uint64_t> pinned_from;
  bool needs_action() const;
};

// Fails for a device or image that does not exist, an unreadable /proc or
// an unusable --host-mntns; everything else degrades into counters and
// warnings in the report.
Result<ScanReport> run_scan(const HostPaths& paths, const ScanRequest& request);

// What every scan reports of the node read, before its findings: how it was
// read, the host's namespace, issues and warnings (the kubelet root's note
// among them), and the host's layout built from the host's table.
ScanReport start_report(const NodeSnapshot& snap, const HostPaths& paths);

// --risks: every namespace but the host's that holds a private bind of a
// directory exposing the kubelet's volume mounts (findings/hostpath_risk.h,
// the judgement trace's hostpath_risk makes), named by container and pod,
// with the fix; whether or not a device is mounted there now. Fails as
// run_scan does for an unreadable /proc or an unusable --host-mntns.
Result<ScanReport> run_risk_scan(const HostPaths& paths, const ScanRequest& request);

}  // namespace mountleak

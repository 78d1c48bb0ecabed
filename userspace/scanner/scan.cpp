// SPDX-License-Identifier: Apache-2.0
#include "scanner/scan.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <unistd.h>

#include "resolve/ceph_client.h"
#include "resolve/devices.h"
#include "sources/fd_holders.h"

namespace mountleak {

bool ScanReport::needs_action() const {
  return !risks.empty() || std::any_of(devices.begin(), devices.end(),
                     [](const DeviceHolders& d) { return d.needs_action(); });
}

namespace {

struct Candidate {
  DeviceRef device;
  bool named = false;  // asked for by --device/--image/--path, not only --all
};

class CandidateList {
 public:
  void add(const DeviceRef& d, bool named) {
    auto [it, fresh] = seen_.emplace(d.dev, list_.size());
    if (fresh)
      list_.push_back({d, named});
    else
      list_[it->second].named = list_[it->second].named || named;
  }
  std::vector<Candidate>& list() { return list_; }

 private:
  std::vector<Candidate> list_;
  std::map<DevId, size_t> seen_;
};

// --device and --image: resolved before anything is scanned, so a typo
// fails at once.
Status add_named_devices(const HostPaths& paths, const ScanRequest& req, CandidateList& out) {
  for (const auto& arg : req.devices) {
    auto d = resolve_device(paths, arg);
    if (!d) return d.error();
    out.add(*d, true);
  }
  for (const auto& arg : req.images) {
    auto ds = resolve_image(paths, arg);
    if (!ds) return ds.error();
    for (const auto& d : *ds) out.add(d, true);
  }
  return ok_status();
}

// --path and --all: tracked devices by name, plus any tracked device some
// namespace has mounted (sysfs may already have forgotten a removed one).
// A --path is matched by what it is: a symlinked or bound directory names
// the same mounts as its target.
void add_mounted_devices(const HostPaths& paths, const ScanRequest& req, const NodeSnapshot& snap,
                         const HostLayout& layout, CandidateList& out) {
  if (req.paths.empty() && !req.all) return;
  std::vector<HostDirectory> dirs;
  for (const auto& dir : req.paths) dirs.push_back(resolve_host_directory(paths, layout.view, dir));
  std::map<DevId, DeviceRef> tracked;
  for (const auto& d : tracked_devices(paths)) tracked.emplace(d.dev, d);
  std::set<DevId> mounted;
  for (const auto& [inode, ns] : snap.namespaces)
    for (const auto& m : ns.mounts) {
      if (mounted.insert(m.dev).second && !tracked.count(m.dev)) {
        DeviceRef d = describe_device(paths, m.dev);
        if (!d.kernel_name.empty() && paths.tracks_device(d.kernel_name)) tracked.emplace(m.dev, d);
      }
      if (!tracked.count(m.dev)) continue;
      for (const auto& dir : dirs)
        if (dir.containing(m.mount_point)) out.add(tracked.at(m.dev), true);
    }
  if (req.all)
    for (const auto& [dev, d] : tracked)
      if (mounted.count(dev)) out.add(d, false);
}

// Which mounts of a namespace other than the host's a scan can need, so
// the rest are dropped as each table is read and a scan's memory follows
// the question, not the node (SnapshotLimits::only_mounts_for): the named
// devices' mounts, for --path and --all those of every device scan
// follows (asked of sysfs once per device, by whichever reader thread
// meets it first), and FUSE and network mounts (descriptors are matched
// to those by mount id).
std::function<bool(const MountEntry&)> mounts_scan_needs(const HostPaths& paths, const ScanRequest& req,
                                                         CandidateList& named) {
  struct Tracked {
    std::mutex mutex;
    std::map<DevId, bool> known;
  };
  std::set<DevId> asked;
  for (const auto& c : named.list()) asked.insert(c.device.dev);
  std::shared_ptr<Tracked> tracked;
  if (!req.paths.empty() || req.all) tracked = std::make_shared<Tracked>();
  return [&paths, asked = std::move(asked), tracked](const MountEntry& m) {
    if (asked.count(m.dev) || served_remotely(m.fs_type)) return true;
    // Major 0: tmpfs, overlay, proc and their kin, never a block device.
    if (!tracked || m.dev.major == 0) return false;
    std::lock_guard lock(tracked->mutex);
    auto [it, fresh] = tracked->known.emplace(m.dev, false);
    if (fresh) {
      const std::string name = kernel_name_of(paths, m.dev);
      it->second = !name.empty() && paths.tracks_device(name);
    }
    return it->second;
  };
}

// A client for the cluster the node's rbd devices come from, when there is
// a configuration to find it by; nothing otherwise.
std::unique_ptr<CephClient> ceph_client_for(const HostPaths& paths, const ScanRequest& req) {
  if (!req.ask_ceph) return nullptr;
  CephClientOptions options = req.ceph;
  if (options.conf_path.empty()) {
    options.conf_path = paths.under_host("/etc/ceph/ceph.conf");
    if (access(options.conf_path.c_str(), R_OK) != 0) return nullptr;
  }
  return std::make_unique<CephClient>(options);
}

}  // namespace

ScanReport start_report(const NodeSnapshot& snap, const HostPaths& paths) {
  static const std::vector<MountEntry> kNoMounts;
  auto host = snap.namespaces.find(snap.host_mntns);
  ScanReport report;
  report.layout = HostLayout::build(paths, host != snap.namespaces.end() ? host->second.mounts : kNoMounts);
  const HostLayout& layout = *report.layout;
  report.method = snap.method;
  report.method_note = snap.method_note;
  report.host_mntns = snap.host_mntns;
  report.host_mntns_source = snap.host_mntns_source;
  report.issues = snap.issues;
  report.warnings = snap.warnings;
  if (!layout.kubelet.note.empty()) report.warnings.push_back(layout.kubelet.note);
  return report;
}

Result<ScanReport> run_scan(const HostPaths& paths, const ScanRequest& request) {
  CandidateList candidates;
  if (auto named = add_named_devices(paths, request, candidates); !named) return named.error();

  EnumerateOptions options;
  options.host_mntns = request.host_mntns;
  options.process_details = false;  // read lazily, only for holders
  options.mount_table = request.mount_table;
  // The descriptor walk --no-fds turns off also finds namespaces that only
  // an open descriptor keeps.
  options.descriptor_pinned_namespaces = request.scan_fds;
  options.limits.only_mounts_for = mounts_scan_needs(paths, request, candidates);
  auto snap = enumerate_node(paths, options);
  if (!snap) return snap.error();
  ScanReport report = start_report(*snap, paths);
  const HostLayout& layout = *report.layout;
  add_mounted_devices(paths, request, *snap, layout, candidates);

  std::vector<DevId> devs;
  for (const auto& c : candidates.list()) devs.push_back(c.device.dev);
  std::vector<FdHolder> fds;
  if (request.scan_fds && !devs.empty())
    fds = find_fd_holders(paths, devs, {}, snap->counters, index_remote_mounts(snap->namespaces));

  Attributor attributor(paths, request.cmdline);
  attributor.set_host_mntns(snap->host_mntns);
  HolderFinder finder(paths, attributor);
  std::unique_ptr<CephClient> ceph = ceph_client_for(paths, request);
  for (const auto& [device, named] : candidates.list()) {
    HolderInputs inputs{snap->namespaces, snap->host_mntns, {}, {}, nullptr, &layout};
    for (const auto& fd : fds)
      if (fd.dev == device.dev) inputs.fds.push_back(fd);
    if (!device.kernel_name.empty()) inputs.stacked_devices = sysfs_holders(paths, device.kernel_name);
    DeviceHolders holders = finder.find(device, inputs);
    if (!named && !keep_for_all(holders)) continue;
    if (ceph && device.rbd) {
      auto clients = ceph->image_clients(*device.rbd);
      if (clients)
        holders.ceph = std::move(*clients);
      else
        holders.ceph_error = clients.error().message;
    }
    report.devices.push_back(std::move(holders));
  }
  report.counters = snap->counters;
  for (const auto& [inode, ns] : snap->namespaces) {
    if (!ns.pids.empty()) report.namespace_members.emplace(inode, ns.pids);
    if (ns.pinned_only) report.pinned_from.emplace(inode, ns.pinned_from);
  }
  return report;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "findings/holders.h"

#include <algorithm>
#include <set>

#include "resolve/hints.h"

namespace mountleak {

std::string_view holder_role_name(HolderRole role) {
  switch (role) {
    case HolderRole::kHost: return "host";
    case HolderRole::kOwner: return "owner";
    case HolderRole::kFollower: return "follower";
    case HolderRole::kLeak: return "leak";
    case HolderRole::kFd: return "fd";
    case HolderRole::kStacked: return "stacked";
  }
  return "?";
}

bool DeviceHolders::leaked() const {
  return std::any_of(holders.begin(), holders.end(),
                     [](const Holder& h) { return h.role == HolderRole::kLeak; });
}

bool DeviceHolders::needs_action() const {
  return std::any_of(holders.begin(), holders.end(), [](const Holder& h) {
    return h.role == HolderRole::kLeak || h.role == HolderRole::kFd ||
           h.role == HolderRole::kStacked;
  });
}

bool keep_for_all(DeviceHolders& device) {
  size_t holding_namespaces = 0;
  for (const auto& h : device.holders)
    if (h.role == HolderRole::kHost || h.role == HolderRole::kOwner || h.role == HolderRole::kLeak)
      ++holding_namespaces;
  bool keep = device.needs_action() || holding_namespaces > 1;
  std::erase_if(device.holders, [](const Holder& h) { return h.role == HolderRole::kFollower; });
  return keep;
}

namespace {

std::vector<const MountEntry*> mounts_of(const MountNamespace& ns, DevId dev) {
  std::vector<const MountEntry*> out;
  for (const auto& m : ns.mounts)
    if (m.dev == dev) out.push_back(&m);
  return out;
}

// The one line an operator acts on; hosts need none, followers none either.
std::string holder_hint(const Holder& h, const std::string& device, const OciMount* via,
                        std::string_view observed_propagation) {
  if (h.role == HolderRole::kHost) return "";
  if (h.role == HolderRole::kFollower)
    return "nothing to do: this copy receives the host's unmounts (" + h.propagation +
           " propagation)";
  HolderFacts facts;
  facts.kind = h.role == HolderRole::kFd ? HolderKind::kOpenFile : HolderKind::kMount;
  facts.device = device;
  if (h.who.container) {
    facts.runtime = h.who.container->runtime;
    facts.container_name = h.who.container->name;
    facts.container_id = h.who.container->id;
    facts.unknown_to_runtime = h.who.container->unknown_to_runtime;
    facts.shim_pid = h.who.container->shim_pid;
    facts.init_pid = h.who.container->init_pid;
  }
  facts.pod = h.who.pod ? &*h.who.pod : nullptr;
  facts.owner_pod = h.role == HolderRole::kOwner;
  facts.via = via;
  facts.observed_propagation = observed_propagation;
  if (!h.who.processes.empty()) {
    facts.pid = h.who.processes.front().pid;
    facts.comm = h.who.processes.front().comm;
  }
  facts.mount_point = h.role == HolderRole::kFd && !h.fds.empty() ? h.fds.front().target : h.mountpoint;
  facts.nsfs_pin = h.pinned_at;
  facts.held_open_by = h.held_open_by;
  facts.held_open_fd = h.held_open_fd;
  facts.releasable = h.role == HolderRole::kLeak;
  return make_hint(facts);
}

// How a copy got into a namespace when no runtime metadata says so: the
// bind of a host directory that brought it, named as the host names it.
std::string via_without_metadata(const std::vector<MountEntry>& ns_mounts,
                                 const std::vector<MountEntry>& host_mounts, const HostLayout& layout,
                                 const MountEntry& mount, DevId dev, bool in_container) {
  const std::string unknown = in_container ? " (the runtime's metadata does not show how)" : "";
  auto origin = bind_origin(ns_mounts, layout, host_mounts, mount, [&](DevId d) { return d == dev; });
  if (!origin || !origin->source.path)
    return "mounted at " + mount.mount_point + " in this namespace" + unknown;
  return "the host's " + *origin->source.path + " bound at " + origin->bind->mount_point + " with " +
         std::string(propagation_name(origin->bind->propagation())) + " propagation" + unknown;
}

const MountEntry* mount_at(const MountNamespace& ns, const std::string& mount_point) {
  const MountEntry* found = nullptr;
  for (const auto& m : ns.mounts)
    if (m.mount_point == mount_point) found = &m;  // the last one is on top
  return found;
}

}  // namespace

bool follows_host(const MountEntry& m, const std::set<uint32_t>& host_groups) {
  return (m.master_group && host_groups.count(m.master_group)) ||
         (m.shared_group && host_groups.count(m.shared_group));
}

std::set<uint32_t> host_peer_groups(const MountNamespace& host, DevId dev) {
  std::set<uint32_t> groups;
  for (const auto& m : host.mounts)
    if (m.dev == dev && m.shared_group) groups.insert(m.shared_group);
  return groups;
}

namespace {

// The host's side of one device, against which every other namespace's
// copy of it is judged.
struct HostSide {
  uint64_t mntns = 0;
  const std::vector<MountEntry>* mounts = nullptr;
  const HostLayout* layout = nullptr;
  bool mounted = false;              // the host has a mount of the device itself
  std::set<uint32_t> groups;         // the peer groups of those mounts
  std::set<std::string> owner_uids;  // the pods whose volume they are
};

// What the host itself has: its peer groups, and which pod's volume it is.
HostSide host_side(uint64_t host_mntns, const std::vector<MountEntry>& host_mounts, const HostLayout& layout,
                   DevId dev) {
  HostSide host;
  host.mntns = host_mntns;
  host.mounts = &host_mounts;
  host.layout = &layout;
  for (const auto& m : host_mounts) {
    if (m.dev != dev) continue;
    host.mounted = true;
    if (m.shared_group) host.groups.insert(m.shared_group);
    if (auto uid = pod_uid_of_volume_path(layout.kubelet, m.mount_point); !uid.empty())
      host.owner_uids.insert(uid);
  }
  return host;
}

// The namespaces to look for mounts of the device in: those the caller's
// index names, or all of them.
std::vector<std::pair<uint64_t, const MountNamespace*>> candidate_namespaces(const HolderInputs& in) {
  std::vector<std::pair<uint64_t, const MountNamespace*>> candidates;
  if (in.mounting) {
    for (uint64_t inode : *in.mounting)
      if (auto it = in.namespaces.find(inode); it != in.namespaces.end())
        candidates.emplace_back(inode, &it->second);
  } else {
    for (const auto& [inode, ns] : in.namespaces) candidates.emplace_back(inode, &ns);
  }
  return candidates;
}

// The host's own mount, the owner pod's, a copy that follows the host, or
// a leak. `covering` is the runtime mount that brought the device in.
HolderRole mount_role(uint64_t inode, const std::vector<const MountEntry*>& mounts, const OciMount* covering,
                      const Attribution& who, const HostSide& host) {
  bool owner = who.pod && host.owner_uids.count(who.pod->uid);
  if (covering && who.pod && !owner)
    owner = pod_uid_of_volume_path(host.layout->kubelet, covering->source) == who.pod->uid;
  if (inode == host.mntns) return HolderRole::kHost;
  if (owner) return HolderRole::kOwner;
  bool all_follow = std::all_of(mounts.begin(), mounts.end(),
                                [&](const MountEntry* m) { return follows_host(*m, host.groups); });
  return all_follow ? HolderRole::kFollower : HolderRole::kLeak;
}

// One namespace's mounts of the device, judged, with how they got there.
Holder mount_holder(const DeviceRef& device, uint64_t inode, const MountNamespace& ns,
                    const std::vector<const MountEntry*>& mounts, Attribution who, const HostSide& host) {
  Holder h;
  h.mntns = inode;
  for (const MountEntry* m : mounts) h.mountpoints.push_back(m->mount_point);
  h.mountpoint = mounts.front()->mount_point;
  h.root = mounts.front()->root;
  h.propagation = std::string(propagation_name(mounts.front()->propagation()));
  h.pinned_at = ns.pinned_at;
  h.held_open_by = ns.held_open_by;
  h.held_open_fd = ns.held_open_fd;
  h.who = std::move(who);

  // The covering runtime mount explains how the device got in.
  const OciMount* covering = mount_covering(h.who.container_mounts, h.mountpoint);
  h.role = mount_role(inode, mounts, covering, h.who, host);

  std::string observed = h.propagation;
  if (covering) {
    if (const MountEntry* bind = mount_at(ns, covering->destination))
      observed = std::string(propagation_name(bind->propagation()));
    h.via = describe_via(*covering, observed);
  } else if (h.role != HolderRole::kHost) {
    h.via = via_without_metadata(ns.mounts, *host.mounts, *host.layout, *mounts.front(), device.dev,
                                 h.who.container.has_value());
  }
  h.hint = holder_hint(h, device.path, covering, observed);
  return h;
}

// A process with the device, or a file on it, open.
Holder fd_holder(const DeviceRef& device, const FdHolder& fd, Attribution who, uint64_t mntns) {
  Holder h;
  h.role = HolderRole::kFd;
  h.fds.push_back(fd);
  h.who = std::move(who);
  h.mntns = mntns;
  h.via = fd.device_node ? "has " + fd.target + " open (fd " + std::to_string(fd.fd) + ")"
                         : "has " + fd.target + ", a file on the device, open (" + fd.kind +
                               (fd.fd >= 0 ? " " + std::to_string(fd.fd) : "") + ")";
  h.hint = holder_hint(h, device.path, nullptr, "");
  return h;
}

// Several descriptors of one process are one holder.
std::vector<Holder> merge_fd_holders(std::vector<Holder> holders) {
  std::vector<Holder> merged;
  for (auto& h : holders) {
    if (h.role == HolderRole::kFd && !merged.empty() && merged.back().role == HolderRole::kFd &&
        merged.back().who.pids == h.who.pids) {
      merged.back().fds.push_back(h.fds.front());
      continue;
    }
    merged.push_back(std::move(h));
  }
  return merged;
}

Holder stacked_holder(const std::string& stacked) {
  Holder h;
  h.role = HolderRole::kStacked;
  h.stacked_device = stacked;
  h.via = "/dev/" + stacked + " is built on top of it";
  h.hint = "remove /dev/" + stacked + " first (dmsetup remove / mdadm --stop)";
  return h;
}

}  // namespace

HolderFinder::HolderFinder(const HostPaths& paths, AttributionSource& attributor)
    : paths_(paths), attributor_(attributor) {}

DeviceHolders HolderFinder::find(const DeviceRef& device, const HolderInputs& in) {
  DeviceHolders out;
  out.device = device;
  static const std::vector<MountEntry> kNoMounts;
  auto host_ns = in.namespaces.find(in.host_mntns);
  const std::vector<MountEntry>& host_mounts = host_ns != in.namespaces.end() ? host_ns->second.mounts : kNoMounts;
  std::optional<HostLayout> own_layout;
  if (!in.layout) own_layout = HostLayout::build(paths_, host_mounts);
  const HostLayout& layout = in.layout ? *in.layout : *own_layout;

  const HostSide host = host_side(in.host_mntns, host_mounts, layout, device.dev);
  out.host_mounted = host.mounted;
  for (const auto& [inode, ns] : candidate_namespaces(in)) {
    auto mounts = mounts_of(*ns, device.dev);
    if (mounts.empty()) continue;
    out.holders.push_back(mount_holder(device, inode, *ns, mounts, attributor_.attribute(ns->pids), host));
  }
  for (const auto& fd : in.fds) {
    Attribution who = attributor_.attribute({fd.pid});
    uint64_t mntns = fd.mntns;
    if (mntns == 0)
      if (const ProcessInfo* process = attributor_.process(fd.pid)) mntns = process->mntns;
    out.holders.push_back(fd_holder(device, fd, std::move(who), mntns));
  }
  out.holders = merge_fd_holders(std::move(out.holders));
  for (const auto& stacked : in.stacked_devices) out.holders.push_back(stacked_holder(stacked));
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/node_state.h"

#include <algorithm>

#include "sources/fd_holders.h"

namespace mountleak {

namespace {
// How long what sysfs said about a device no namespace mounts is believed:
// such a device can be removed and its number reused at any moment.
constexpr auto kUnheldDeviceLifetime = std::chrono::seconds(2);
}  // namespace

NodeState::NodeState(const HostPaths& paths, const CollectorOptions& options, NamespaceSource& source,
                     RecordSink& out)
    : own_lookups_(options.lookups ? nullptr : std::make_unique<LiveNodeLookups>(paths, options.cmdline)),
      paths(paths),
      options(options),
      source(source),
      lookups(options.lookups ? *options.lookups : *own_lookups_),
      out_(out),
      finder_(paths, lookups),
      keep_tracked_([this](const MountEntry& m) { return tracked(m.dev); }),
      // Major 0 (tmpfs, overlay, proc and their kin) is never a block device.
      keep_for_findings_([this](const MountEntry& m) {
        return served_remotely(m.fs_type) || (m.dev.major != 0 && (tracked(m.dev) || stacked_on_tracked(m.dev)));
      }) {
  model.narrow_with(keep_for_findings_);
}

void NodeState::reset(NodeSnapshot snapshot) {
  model.reset(std::move(snapshot));
  host_layout_.reset();
  lookups.set_host_mntns(model.host_mntns());
}

bool NodeState::tracked(DevId dev) {
  for (DevId gone : model.take_released()) tracked_cache_.erase(gone);
  const auto now = this->now();
  auto it = tracked_cache_.find(dev);
  if (it != tracked_cache_.end() && (model.held(dev) || now - it->second.decided_at < kUnheldDeviceLifetime))
    return it->second.tracked;
  const bool keep = lookups.tracked(dev);
  tracked_cache_.insert_or_assign(dev, TrackedDecision{keep, now});
  return keep;
}

bool NodeState::stacked_on_tracked(DevId dev) {
  const auto now = this->now();
  auto it = stacked_cache_.find(dev);
  if (it != stacked_cache_.end() && (model.held(dev) || now - it->second.decided_at < kUnheldDeviceLifetime))
    return it->second.tracked;
  // As the busy detector judges a failing dm remove (on_tracked_device).
  const DeviceRef d = lookups.describe_device(dev);
  const bool stacked = d.dm && std::any_of(d.dm->slaves.begin(), d.dm->slaves.end(),
                                           [&](const std::string& slave) { return paths.tracks_device(slave); });
  stacked_cache_.insert_or_assign(dev, TrackedDecision{stacked, now});
  return stacked;
}

void NodeState::forget_unheld_devices(Clock::time_point now) {
  for (DevId gone : model.take_released()) {
    tracked_cache_.erase(gone);
    stacked_cache_.erase(gone);
  }
  for (auto* cache : {&tracked_cache_, &stacked_cache_})
    std::erase_if(*cache, [&](const auto& entry) {
      return !model.held(entry.first) && now - entry.second.decided_at >= kUnheldDeviceLifetime;
    });
}

std::set<DevId> NodeState::tracked_devices_in(uint64_t inode) {
  std::set<DevId> out;
  if (const MountNamespace* ns = model.find(inode))
    for (const auto& m : ns->mounts)
      if (tracked(m.dev)) out.insert(m.dev);
  return out;
}

const HostLayout& NodeState::host_layout() {
  if (!host_layout_) {
    static const std::vector<MountEntry> kNoMounts;
    const MountNamespace* host = model.find(model.host_mntns());
    host_layout_ = lookups.host_layout(host ? host->mounts : kNoMounts);
  }
  return *host_layout_;
}

// The device is described afresh for every finding: after an rbd unmap and
// map, or a loop detach and attach, the same number names another image.
DeviceHolders NodeState::holders_of(DevId dev, std::vector<FdHolder> open) {
  std::vector<uint64_t> mounting = model.namespaces_holding(dev);
  return finder_.find(lookups.describe_device(dev), HolderInputs{model.namespaces(), model.host_mntns(),
                                                                 std::move(open), {}, &mounting, &host_layout()});
}

Culprit NodeState::culprit(int pid, const std::string& comm) { return Culprit{pid, comm, lookups.attribute({pid})}; }

void NodeState::emit(Event event) {
  Record record{options.wall_now ? options.wall_now() : std::chrono::system_clock::now(), std::move(event)};
  if (!record.raw() && !record.fact()) ++stats.findings;
  out_.write(record);
}

}  // namespace mountleak

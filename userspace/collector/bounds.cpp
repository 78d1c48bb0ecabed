// SPDX-License-Identifier: Apache-2.0
#include "collector/bounds.h"

namespace mountleak {

namespace {

// What each bound costs while it is reached, as the degraded event says.
constexpr const char* kLeftOutEffect =
    "new mount namespaces are left out of the model: a holder in one of them is missing from "
    "findings until a resync finds it, once the model has room";
constexpr const char* kTrimmedEffect =
    "namespaces that do not fit keep only their mounts of tracked devices: holders stay "
    "complete, but a hostPath bind in them may go unexplained";
constexpr const char* kTooLargeEffect =
    "a mount table larger than the bound is not read: its namespace keeps the table read before";

}  // namespace

SnapshotLimits Bounds::snapshot_limits() const {
  SnapshotLimits limits;
  limits.max_namespaces = node_.options.max_namespaces;
  limits.max_mounts = node_.options.max_mounts;
  limits.max_mountinfo_bytes = node_.options.max_mountinfo_bytes;
  limits.keep_when_full = node_.keep_tracked();
  limits.only_mounts_for = node_.keep_for_findings();
  limits.interrupted = node_.options.interrupted;
  return limits;
}

void Bounds::judge_snapshot(const ScanCounters& counters) {
  const CollectorOptions& o = node_.options;
  node_.stats.namespaces_left_out += counters.namespaces_left_out;
  node_.stats.namespaces_trimmed += counters.namespaces_trimmed;
  node_.stats.mountinfo_too_large += counters.mountinfo_too_large;
  if (counters.namespaces_left_out)
    degrade("max_namespaces", o.max_namespaces, kLeftOutEffect);
  else
    recover("max_namespaces");
  if (counters.namespaces_trimmed)
    degrade("max_mounts", o.max_mounts, kTrimmedEffect);
  else if (node_.model.trimmed_count() == 0)
    recover("max_mounts");
  if (counters.mountinfo_too_large)
    degrade("max_mountinfo_bytes", o.max_mountinfo_bytes, kTooLargeEffect);
  else
    recover("max_mountinfo_bytes");
}

void Bounds::degrade(const std::string& bound, size_t limit, const std::string& effect) {
  if (!node_.degraded.insert(bound).second) return;
  node_.emit(Degraded{bound, true, limit, effect});
}

void Bounds::recover(const std::string& bound) {
  if (node_.degraded.erase(bound) == 0) return;
  node_.emit(Degraded{bound, false, 0, ""});
}

bool Bounds::recover_when_room(DirtySet& dirty, Clock::time_point now) {
  const LiveModel& model = node_.model;
  const CollectorOptions& o = node_.options;
  // Three quarters, so that a model at its bound does not flap in and out.
  const bool namespace_room = model.namespaces().size() < o.max_namespaces * 3 / 4;
  const bool mount_room = model.mount_count() < o.max_mounts * 3 / 4;
  if (node_.degraded.count("max_mounts") && mount_room) {
    if (model.trimmed_count() == 0) {
      recover("max_mounts");
    } else {
      for (const auto& [inode, ns] : model.namespaces())
        if (ns.trimmed) dirty.mark(inode, now - o.max_delay);
    }
  }
  // Namespaces left out are known only to a full read of /proc.
  return node_.degraded.count("max_namespaces") && namespace_room;
}

bool Bounds::admit_namespace(uint64_t inode, int pid, uint64_t copied_from) {
  LiveModel& model = node_.model;
  const CollectorOptions& o = node_.options;
  if (model.has(inode)) {
    model.add_pid(inode, pid);
    return true;
  }
  if (model.namespaces().size() >= o.max_namespaces) {
    ++node_.stats.namespaces_left_out;
    degrade("max_namespaces", o.max_namespaces, kLeftOutEffect);
    return false;
  }
  const MountNamespace* parent = model.find(copied_from);
  const size_t copied = parent ? parent->mounts.size() : 0;
  if (model.mount_count() + copied > o.max_mounts) {
    model.add_namespace(inode, pid, copied_from, &node_.keep_tracked());
    ++node_.stats.namespaces_trimmed;
    degrade("max_mounts", o.max_mounts, kTrimmedEffect);
  } else {
    model.add_namespace(inode, pid, copied_from);
  }
  return true;
}

LiveModel::Change Bounds::replace_within_bounds(uint64_t inode, std::vector<MountEntry> mounts) {
  LiveModel& model = node_.model;
  const MountNamespace* ns = model.find(inode);
  const size_t others = model.mount_count() - (ns ? ns->mounts.size() : 0);
  LiveModel::Table table = model.table_of(inode, std::move(mounts));
  if (inode == model.host_mntns() || others + table.mounts.size() <= node_.options.max_mounts)
    return model.replace_mounts(inode, std::move(table));
  ++node_.stats.namespaces_trimmed;
  degrade("max_mounts", node_.options.max_mounts, kTrimmedEffect);
  table.mounts = mounts_kept(table.mounts, node_.keep_tracked());
  return model.replace_mounts(inode, std::move(table), true);
}

void Bounds::mountinfo_too_large() {
  ++node_.stats.mountinfo_too_large;
  degrade("max_mountinfo_bytes", node_.options.max_mountinfo_bytes, kTooLargeEffect);
}

BoundsReport Bounds::report(std::chrono::milliseconds resync_backoff) const {
  const CollectorOptions& o = node_.options;
  BoundsReport r;
  r.max_namespaces = o.max_namespaces;
  r.namespaces = node_.model.namespaces().size();
  r.max_mounts = o.max_mounts;
  r.mounts = node_.model.mount_count();
  r.namespaces_trimmed_now = node_.model.trimmed_count();
  r.max_mountinfo_bytes = o.max_mountinfo_bytes;
  r.resync_min_interval_ms = o.resync_min_interval.count();
  r.resync_max_interval_ms = o.resync_max_interval.count();
  r.resync_backoff_ms = resync_backoff.count();
  r.reconcile_slice_ms = o.reconcile_slice.count();
  r.degraded = node_.degraded;
  return r;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/collector.h"

#include <algorithm>

#include "sources/process_path.h"

namespace mountleak {

namespace {
// How long processes and container metadata are believed: pids get reused,
// metadata files get rewritten.
constexpr auto kCacheLifetime = std::chrono::seconds(30);
}  // namespace

Collector::Collector(const HostPaths& paths, CollectorOptions options, NamespaceSource& source, RecordSink& out)
    : options_(std::move(options)),
      node_(paths, options_, source, out),
      bounds_(node_),
      ingest_(node_, bounds_, dirty_, [this](uint64_t inode) { forget_namespace(inode); }),
      reconciler_(node_, bounds_, dirty_, [this](uint64_t inode) { forget_namespace(inode); }),
      leaks_(node_, ingest_, reconciler_),
      copies_(node_, ingest_),
      busy_(node_, reconciler_),
      last_cache_clear_(node_.now()),
      last_sweep_(node_.now()),
      resync_backoff_(options_.resync_min_interval) {}

Status Collector::start() {
  auto snap = node_.source.snapshot(bounds_.snapshot_limits());
  if (!snap) return snap.error();
  warnings_ = snap->warnings;
  const ScanCounters counters = snap->counters;
  node_.reset(std::move(*snap));
  // The first sweep is a liveness period after the node was read, not
  // after this object was made: a replay starts its clock at the recorded
  // snapshot, and must sweep (and, on the passive tier, find namespaces)
  // at the same turn as the live run did.
  last_sweep_ = node_.now();
  if (const auto& note = node_.host_layout().kubelet.note; !note.empty()) warnings_.push_back(note);
  bounds_.judge_snapshot(counters);
  return ok_status();
}

size_t Collector::tracked_device_count() {
  std::set<DevId> devs;
  for (const auto& [inode, ns] : node_.model.namespaces())
    for (const auto& m : ns.mounts)
      if (node_.tracked(m.dev)) devs.insert(m.dev);
  return devs.size();
}

std::vector<TrackedMount> Collector::tracked_mounts() {
  std::vector<TrackedMount> out;
  for (const auto& [inode, ns] : node_.model.namespaces())
    for (const auto& m : ns.mounts)
      if (node_.tracked(m.dev)) out.push_back({inode, m.mount_point, m.dev});
  return out;
}

void Collector::on_event(const KernelEvent& e) {
  ++node_.stats.events;
  if (const auto k = static_cast<size_t>(e.kind); k < kEventKindSlots) ++node_.stats.events_by_kind[k];
  if (node_.wants_raw()) node_.emit(e);
  if (const auto* busy = std::get_if<BusyFailure>(&e.payload); busy && e.kind == EventKind::kBusy)
    on_busy(e, *busy);
  else
    ingest_.on_event(e, node_.now());
}

void Collector::forget_namespace(uint64_t inode) {
  node_.model.remove(inode);
  dirty_.erase(inode);
  ingest_.forget(inode);
  copies_.forget(inode);
}

void Collector::tick(Clock::time_point now, std::chrono::milliseconds slice) {
  reconciler_.forget_members();  // processes come and go between ticks
  if (now - last_sweep_ >= options_.liveness_period) {
    last_sweep_ = now;
    reconciler_.sweep_dead_namespaces();
    if (options_.discover_in_sweep) reconciler_.discover_namespaces(now);
    node_.forget_unheld_devices(now);
    node_.stats.lookups_stuck = reap_abandoned_children();
  }
  if (now - last_cache_clear_ > kCacheLifetime) {
    node_.lookups.forget_processes();
    last_cache_clear_ = now;
  }
  if (!node_.degraded.empty() && bounds_.recover_when_room(dirty_, now)) resync_wanted_ = true;
  if (resync_wanted_) {
    if (now >= next_resync_)
      resync(now);
    else
      ++node_.stats.resyncs_deferred;
  }
  if (!reconcile_due(now, node_.now() + slice, false)) ++node_.stats.reconcile_slices_spent;
  leaks_.judge_resolved();
  ingest_.expire_young(now);
}

bool Collector::reconcile_due(Clock::time_point now, Clock::time_point until, bool all_dirty) {
  return reconciler_.reconcile_due(now, until, all_dirty,
                                   [&](const std::vector<Reconciler::Reread>& reread) { judge(reread, now); });
}

void Collector::judge(const std::vector<Reconciler::Reread>& reread, Clock::time_point now) {
  for (const auto& r : reread) {
    leaks_.judge(r.inode, r.before);
    copies_.judge(r.inode, now);
  }
}

void Collector::on_busy(const KernelEvent& e, const BusyFailure& busy) {
  if (handover_.repeated(e, busy.source, BusyHandover::Clock::now())) {
    ++node_.stats.busy_repeated;
    return;
  }
  // The model must be current before it names holders: re-read what is
  // pending now rather than at the next tick (within a slice: in a storm
  // the finding must not wait for all of it).
  auto now = node_.now();
  reconciler_.forget_members();
  if (!reconcile_due(now, now + options_.reconcile_slice, true)) ++node_.stats.reconcile_slices_spent;
  busy_.judge(e, busy);
}

void Collector::on_lost(uint64_t count) {
  lost_unreported_ += count;
  // The first loss is said at once; the losses while a resync waits for
  // its backoff are summed into one lost event just before it.
  if (!resync_wanted_) {
    node_.emit(Lost{lost_unreported_});
    lost_unreported_ = 0;
  }
  resync_wanted_ = true;
}

void Collector::schedule_resync(Clock::time_point now) {
  resync_wanted_ = false;
  // Losses that keep coming back within twice the backoff double it.
  if (last_resync_ != Clock::time_point{} && now - last_resync_ < 2 * resync_backoff_)
    resync_backoff_ = std::min(2 * resync_backoff_, options_.resync_max_interval);
  else
    resync_backoff_ = options_.resync_min_interval;
  last_resync_ = now;
  next_resync_ = now + resync_backoff_;
}

void Collector::resync(Clock::time_point now) {
  if (options_.interrupted && options_.interrupted()) return;  // stopping: nobody waits for it
  if (lost_unreported_ > 0) {
    node_.emit(Lost{lost_unreported_});
    lost_unreported_ = 0;
  }
  schedule_resync(now);

  auto started = node_.now();
  // What the host held before, so a leak that happened while we were blind
  // is still reported.
  std::set<DevId> host_before = node_.tracked_devices_in(node_.model.host_mntns());
  auto snap = node_.source.snapshot(bounds_.snapshot_limits());
  if (!snap) {
    warnings_.push_back("resync failed: " + snap.error().message);
    Resync failed;
    failed.ok = false;
    failed.error = snap.error().message;
    node_.emit(std::move(failed));
    return;
  }
  const ScanCounters counters = snap->counters;
  node_.reset(std::move(*snap));
  dirty_.clear();
  copies_.forget_missing();
  ++node_.stats.resyncs;
  bounds_.judge_snapshot(counters);
  leaks_.judge(node_.model.host_mntns(), host_before);
  leaks_.judge_orphaned_copies();
  for (const auto& [inode, ns] : node_.model.namespaces()) copies_.judge(inode, node_.now());
  Resync done;
  done.namespaces = node_.model.namespaces().size();
  done.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(node_.now() - started).count();
  done.next_after_ms = resync_backoff_.count();
  node_.emit(std::move(done));
}

}  // namespace mountleak

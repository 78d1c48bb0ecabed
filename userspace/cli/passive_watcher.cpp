// SPDX-License-Identifier: Apache-2.0
#include "cli/passive_watcher.h"

#include <fmt/core.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

namespace mountleak {

namespace {

// The collector hears of a table to read again as an event of its own, so
// that the log records it and `replay` reads the table where trace did.
KernelEvent table_changed(uint64_t inode, TableChangeSeen seen) {
  KernelEvent e;
  e.kind = EventKind::kMountTableChanged;
  e.ts_ns = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count());
  e.mntns = static_cast<uint32_t>(inode);
  e.tier = EventTier::kPassive;
  e.payload = MountTableChanged{seen};
  return e;
}

// How often a namespace that cannot be watched is re-read instead: as
// often as the collector's sweep (CollectorOptions::liveness_period).
constexpr auto kRereadUnwatched = std::chrono::milliseconds(2000);
constexpr rlim_t kMaxDescriptors = 1 << 20;
}  // namespace

Result<PassiveWatcher> PassiveWatcher::start(const std::string& proc) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(limit.rlim_max, kMaxDescriptors);
    setrlimit(RLIMIT_NOFILE, &limit);  // best effort: the watches that fit are made
  }
  auto watch = MountinfoWatch::open(proc);
  if (!watch) return watch.error();
  return PassiveWatcher(std::move(*watch));
}

void PassiveWatcher::tick(Collector& collector, Clock::time_point now) {
  MountinfoWatch::Happened happened = watch_.take();
  changes_ += happened.changed.size();
  watches_closed_ += happened.closed.size();
  for (uint64_t inode : happened.changed) collector.on_event(table_changed(inode, TableChangeSeen::kPoll));
  sync(collector);
  if (now - last_reread_ >= kRereadUnwatched) {
    last_reread_ = now;
    for (const auto& [inode, tasks] : unwatched_) collector.on_event(table_changed(inode, TableChangeSeen::kTimer));
  }
}

void PassiveWatcher::sync(Collector& collector) {
  const LiveModel& model = collector.model();
  for (uint64_t inode : watch_.watched()) {
    const MountNamespace* ns = model.find(inode);
    if (!ns || ns->pinned_only) watch_.unwatch(inode);
  }
  std::erase_if(unwatched_, [&](const auto& u) { return !model.has(u.first); });
  for (const auto& [inode, ns] : model.namespaces()) {
    // A namespace with no task in it changes only when one enters it, and
    // is then no longer pinned_only.
    if (ns.pinned_only || watch_.watching(inode)) continue;
    // Tried with these tasks already: not again every turn of the loop.
    if (auto it = unwatched_.find(inode); it != unwatched_.end() && it->second == ns.pids) continue;
    std::vector<int> tasks = ns.pids;
    if (inode == model.host_mntns()) tasks.insert(tasks.begin(), {1, getpid()});
    switch (watch_.watch(inode, tasks)) {
      case MountinfoWatch::Outcome::kWatching:
        unwatched_.erase(inode);
        // Whatever changed between the last read and the watch is unseen:
        // read it once more, now that any later change will be told.
        collector.on_event(table_changed(inode, TableChangeSeen::kWatch));
        break;
      case MountinfoWatch::Outcome::kNoRoom:
        if (!said_no_room_) {
          said_no_room_ = true;
          fmt::print(stderr,
                     "mountleak trace: out of descriptors watching mount tables ({} watched); the rest are "
                     "re-read every {} s (raise the open-files limit)\n",
                     watch_.size(), kRereadUnwatched.count() / 1000);
        }
        unwatched_[inode] = ns.pids;
        break;
      case MountinfoWatch::Outcome::kNoTask:
        unwatched_[inode] = ns.pids;
        break;
    }
  }
}

std::vector<std::pair<std::string, uint64_t>> PassiveWatcher::counters() const {
  return {{"mount_tables_watched", watch_.size()},
          {"mount_tables_unwatched", unwatched_.size()},
          {"mount_table_changes", changes_},
          {"mount_table_watches_closed", watches_closed_}};
}

}  // namespace mountleak

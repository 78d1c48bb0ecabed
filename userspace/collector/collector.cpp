// SPDX-License-Identifier: Apache-2.0
#include "collector/collector.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <fstream>

#include "output/holders_json.h"
#include "output/host_layout_json.h"
#include "output/raw_event_json.h"
#include "sources/process_path.h"
#include "sources/procfs.h"

namespace mountleak {

namespace {

constexpr auto kCacheLifetime = std::chrono::seconds(30);
// How long what sysfs said about a device no namespace mounts is believed:
// such a device can be removed and its number reused at any moment.
constexpr auto kUnheldDeviceLifetime = std::chrono::seconds(2);

// What each bound costs while it is reached, as the degraded event says.
constexpr const char* kLeftOutEffect =
    "new mount namespaces are left out of the model: a holder in one of them is missing from "
    "findings until a resync finds it, once the model has room";
constexpr const char* kTrimmedEffect =
    "namespaces that do not fit keep only their mounts of tracked devices: holders stay "
    "complete, but a hostPath bind in them may go unexplained";
constexpr const char* kTooLargeEffect =
    "a mount table larger than the bound is not read: its namespace keeps the table read before";

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

std::string strip_trailing_slash(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// False when the process is known to be chrooted: readlink of
// /proc/PID/root is then a path, not "/". The kernel answers it from the
// process's own root, without any file system. A process already gone has
// no root left to look a path up in; its mount table is all there is.
bool root_is_namespace_root(const std::string& proc, int pid) {
  char buf[2];
  const std::string link = proc + "/" + std::to_string(pid) + "/root";
  const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
  return n < 0 || (n == 1 && buf[0] == '/');
}

// A kernel dev_t: 12 bits of major above 20 bits of minor.
DevId kernel_dev(uint64_t dev) {
  return DevId{static_cast<uint32_t>(dev >> 20), static_cast<uint32_t>(dev & 0xfffff)};
}

std::optional<DevId> read_dev_pair(const std::string& dir) {
  std::ifstream maj(dir + "/major"), min(dir + "/minor");
  uint32_t a = 0, b = 0;
  if (!(maj >> a) || !(min >> b)) return std::nullopt;
  return DevId{a, b};
}

}  // namespace

Result<NodeSnapshot> ProcfsNamespaceSource::snapshot(const SnapshotLimits& limits) {
  EnumerateOptions options;
  options.host_mntns = host_mntns_;
  options.process_details = false;
  options.limits = limits;
  return enumerate_node(paths_, options);
}

Result<MountNamespace> ProcfsNamespaceSource::read(int pid, size_t max_mountinfo_bytes) {
  return read_namespace_of(paths_, pid, max_mountinfo_bytes);
}

std::optional<uint64_t> ProcfsNamespaceSource::namespace_of(int pid) {
  auto inode = ns_inode(paths_.proc(), pid, "mnt");
  if (!inode) return std::nullopt;
  return *inode;
}

std::map<uint64_t, std::vector<int>> ProcfsNamespaceSource::members() {
  std::map<uint64_t, std::vector<int>> out;
  for (int pid : list_pids(paths_.proc()))
    if (auto ino = namespace_of(pid)) out[*ino].push_back(pid);
  return out;
}

Collector::Collector(const HostPaths& paths, CollectorOptions options, NamespaceSource& source,
                     OutputSink& out)
    : paths_(paths),
      options_(options),
      source_(source),
      out_(out),
      attributor_(paths, options.cmdline),
      finder_(paths, attributor_),
      keep_tracked_([this](const MountEntry& m) { return tracked(m.dev); }),
      resync_backoff_(options.resync_min_interval) {}

SnapshotLimits Collector::snapshot_limits() const {
  SnapshotLimits limits;
  limits.max_namespaces = options_.max_namespaces;
  limits.max_mounts = options_.max_mounts;
  limits.max_mountinfo_bytes = options_.max_mountinfo_bytes;
  limits.keep_when_full = keep_tracked_;
  limits.interrupted = options_.interrupted;
  return limits;
}

Status Collector::start() {
  auto snap = source_.snapshot(snapshot_limits());
  if (!snap) return snap.error();
  warnings_ = snap->warnings;
  const ScanCounters counters = snap->counters;
  model_.reset(std::move(*snap));
  host_layout_.reset();
  attributor_.set_host_mntns(model_.host_mntns());
  if (const auto& note = host_layout().kubelet.note; !note.empty()) warnings_.push_back(note);
  judge_snapshot_limits(counters);
  return ok_status();
}

void Collector::judge_snapshot_limits(const ScanCounters& counters) {
  stats_.namespaces_left_out += counters.namespaces_left_out;
  stats_.namespaces_trimmed += counters.namespaces_trimmed;
  stats_.mountinfo_too_large += counters.mountinfo_too_large;
  if (counters.namespaces_left_out)
    degrade("max_namespaces", options_.max_namespaces, kLeftOutEffect);
  else
    recover("max_namespaces");
  if (counters.namespaces_trimmed)
    degrade("max_mounts", options_.max_mounts, kTrimmedEffect);
  else if (model_.trimmed_count() == 0)
    recover("max_mounts");
  if (counters.mountinfo_too_large)
    degrade("max_mountinfo_bytes", options_.max_mountinfo_bytes, kTooLargeEffect);
  else
    recover("max_mountinfo_bytes");
}

void Collector::degrade(const std::string& bound, size_t limit, const std::string& effect) {
  if (!degraded_.insert(bound).second) return;
  emit({{"event", "degraded"}, {"bound", bound}, {"limit", limit}, {"state", "reached"}, {"effect", effect}});
}

void Collector::recover(const std::string& bound) {
  if (degraded_.erase(bound) == 0) return;
  emit({{"event", "degraded"}, {"bound", bound}, {"state", "left"}});
}

void Collector::recover_when_room() {
  // Three quarters, so that a model at its bound does not flap in and out.
  const bool namespace_room = model_.namespaces().size() < options_.max_namespaces * 3 / 4;
  const bool mount_room = model_.mount_count() < options_.max_mounts * 3 / 4;
  // Namespaces left out are known only to a full read of /proc.
  if (degraded_.count("max_namespaces") && namespace_room) resync_wanted_ = true;
  if (degraded_.count("max_mounts") && mount_room) {
    if (model_.trimmed_count() == 0) {
      recover("max_mounts");
    } else {
      auto now = Clock::now();
      for (const auto& [inode, ns] : model_.namespaces())
        if (ns.trimmed) mark_dirty(inode, now - options_.max_delay);
    }
  }
}

bool Collector::admit_namespace(uint64_t inode, int pid, uint64_t copied_from) {
  if (model_.has(inode)) {
    model_.add_pid(inode, pid);
    return true;
  }
  if (model_.namespaces().size() >= options_.max_namespaces) {
    ++stats_.namespaces_left_out;
    degrade("max_namespaces", options_.max_namespaces, kLeftOutEffect);
    return false;
  }
  const MountNamespace* parent = model_.find(copied_from);
  const size_t copied = parent ? parent->mounts.size() : 0;
  if (model_.mount_count() + copied > options_.max_mounts) {
    model_.add_namespace(inode, pid, copied_from, &keep_tracked_);
    ++stats_.namespaces_trimmed;
    degrade("max_mounts", options_.max_mounts, kTrimmedEffect);
  } else {
    model_.add_namespace(inode, pid, copied_from);
  }
  return true;
}

bool Collector::tracked(DevId dev) {
  for (DevId gone : model_.take_released()) tracked_cache_.erase(gone);
  const auto now = Clock::now();
  auto it = tracked_cache_.find(dev);
  if (it != tracked_cache_.end() && (model_.held(dev) || now - it->second.decided_at < kUnheldDeviceLifetime))
    return it->second.tracked;
  const std::string name = kernel_name_of(paths_, dev);
  const bool keep = !name.empty() && paths_.tracks_device(name);
  tracked_cache_.insert_or_assign(dev, TrackedDecision{keep, now});
  return keep;
}

void Collector::forget_unheld_devices(Clock::time_point now) {
  for (DevId gone : model_.take_released()) tracked_cache_.erase(gone);
  std::erase_if(tracked_cache_, [&](const auto& entry) {
    return !model_.held(entry.first) && now - entry.second.decided_at >= kUnheldDeviceLifetime;
  });
}

// Read afresh for every finding: after an rbd unmap and map, or a loop
// detach and attach, the same number names another image.
DeviceRef Collector::device(DevId dev) { return describe_device(paths_, dev); }

size_t Collector::tracked_device_count() {
  std::set<DevId> devs;
  for (const auto& [inode, ns] : model_.namespaces())
    for (const auto& m : ns.mounts)
      if (tracked(m.dev)) devs.insert(m.dev);
  return devs.size();
}

nlohmann::json Collector::tracked_mounts_json() {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [inode, ns] : model_.namespaces())
    for (const auto& m : ns.mounts)
      if (tracked(m.dev))
        out.push_back({{"mntns", inode}, {"mountpoint", m.mount_point}, {"device", m.dev.str()}});
  return out;
}

std::set<DevId> Collector::tracked_devices_in(uint64_t inode) {
  std::set<DevId> out;
  if (const MountNamespace* ns = model_.find(inode))
    for (const auto& m : ns->mounts)
      if (tracked(m.dev)) out.insert(m.dev);
  return out;
}

void Collector::emit(nlohmann::json event, bool raw) {
  if (!raw) ++stats_.findings;
  event["time"] = now_rfc3339();
  out_.emit(event, raw);
}

nlohmann::json Collector::process_json(int pid, const std::string& comm) {
  Attribution who = attributor_.attribute({pid});
  nlohmann::json j = attribution_json(who);
  j.erase("pids");
  j.erase("processes");
  j["pid"] = pid;
  j["comm"] = comm;
  if (!who.processes.empty()) j["cmdline"] = who.processes.front().cmdline;
  return j;
}

const HostLayout& Collector::host_layout() {
  if (!host_layout_) {
    static const std::vector<MountEntry> kNoMounts;
    const MountNamespace* host = model_.find(model_.host_mntns());
    host_layout_ = HostLayout::build(paths_, host ? host->mounts : kNoMounts);
  }
  return *host_layout_;
}

DeviceHolders Collector::holders_of(DevId dev) {
  std::vector<uint64_t> mounting = model_.namespaces_holding(dev);
  return finder_.find(device(dev), HolderInputs{model_.namespaces(), model_.host_mntns(), {}, {}, &mounting,
                                                &host_layout()});
}

nlohmann::json Collector::finding(const std::string& kind, const DeviceHolders& d,
                                  const std::vector<Holder>& holders) {
  nlohmann::json j = {{"event", kind}, {"device", device_json(d.device)}, {"holders", holders_json(holders)}};
  // Made while a bound is reached: the holders may not be all (see degraded).
  if (!degraded_.empty()) j["degraded"] = degraded_;
  return j;
}

void Collector::mark_dirty(uint64_t inode, Clock::time_point now) {
  auto [it, fresh] = dirty_.try_emplace(inode, Dirty{now, now});
  if (!fresh) it->second.last = now;
}

void Collector::on_event(const KernelEvent& e) {
  ++stats_.events;
  if (out_.wants_raw()) emit(raw_event_json(e), true);
  auto now = Clock::now();
  const int pid = static_cast<int>(e.pid);
  switch (e.kind) {
    case EventKind::kMntns: {
      const auto* from = std::get_if<NamespaceSwitch>(&e.payload);
      const uint64_t old_mntns = from ? from->old_mntns : 0;
      // Namespace inodes are recycled as soon as a namespace dies: a
      // "new" inode may carry a dead namespace's state. Start clean.
      forget_namespace(e.mntns);
      if (!admit_namespace(e.mntns, pid, old_mntns)) break;
      young_[e.mntns] = YoungNamespace{now, old_mntns, {pid, e.comm}};
      mark_dirty(e.mntns, now);
      break;
    }
    case EventKind::kSetns:
      if (model_.has(e.mntns))
        model_.add_pid(e.mntns, pid);
      else if (admit_namespace(e.mntns, pid, 0))
        mark_dirty(e.mntns, now);
      break;
    case EventKind::kMount:
    case EventKind::kUmount:
    case EventKind::kOpenTree:
    case EventKind::kMoveMount:
    case EventKind::kFsmount:
    case EventKind::kMountSetattr:
      if (!admit_namespace(e.mntns, pid, 0)) break;
      last_trigger_[e.mntns] = Trigger{pid, e.comm};
      mark_dirty(e.mntns, now);
      break;
    case EventKind::kPropagateMount:
    case EventKind::kPropagateUmount:
      // The kernel changed another namespace's table; the event's task is
      // not in it. Only a namespace we know can be re-read.
      if (model_.has(e.mntns)) mark_dirty(e.mntns, now);
      break;
    case EventKind::kBusy:
      if (const auto* busy = std::get_if<BusyFailure>(&e.payload)) on_busy(e, *busy);
      break;
  }
}

void Collector::forget_namespace(uint64_t inode) {
  model_.remove(inode);
  dirty_.erase(inode);
  last_trigger_.erase(inode);
  young_.erase(inode);
  std::erase_if(reported_copies_, [&](const auto& r) { return r.first == inode; });
}

const std::vector<int>& Collector::members_of(uint64_t inode) {
  static const std::vector<int> kNone;
  if (!members_) members_ = source_.members();
  auto it = members_->find(inode);
  return it == members_->end() ? kNone : it->second;
}

void Collector::sweep_dead_namespaces(Clock::time_point now) {
  last_sweep_ = now;
  std::vector<uint64_t> dead;
  for (const auto& [inode, ns] : model_.namespaces()) {
    if (ns.pinned_only || inode == model_.host_mntns() || dirty_.count(inode)) continue;
    const std::vector<int>& members = members_of(inode);
    if (members.empty())
      dead.push_back(inode);
    else
      model_.set_pids(inode, members);
  }
  for (uint64_t inode : dead) {
    forget_namespace(inode);
    ++stats_.namespaces_gone;
  }
}

void Collector::drop_dead_holders(DevId dev) {
  for (uint64_t inode : model_.namespaces_holding(dev)) {
    const MountNamespace* ns = model_.find(inode);
    if (!ns || ns->pinned_only || inode == model_.host_mntns()) continue;
    bool alive = std::any_of(ns->pids.begin(), ns->pids.end(),
                             [&](int pid) { return source_.namespace_of(pid) == inode; });
    if (alive) continue;
    if (const std::vector<int>& members = members_of(inode); !members.empty()) {
      model_.set_pids(inode, members);
      continue;
    }
    forget_namespace(inode);
    ++stats_.namespaces_gone;
  }
}

void Collector::tick(Clock::time_point now, std::chrono::milliseconds slice) {
  members_.reset();  // processes come and go between ticks
  if (now - last_sweep_ >= options_.liveness_period) {
    sweep_dead_namespaces(now);
    forget_unheld_devices(now);
    stats_.lookups_stuck = reap_abandoned_children();
  }
  if (now - last_cache_clear_ > kCacheLifetime) {
    attributor_.clear();  // pids get reused; metadata files get rewritten
    last_cache_clear_ = now;
  }
  if (!degraded_.empty()) recover_when_room();
  if (resync_wanted_) {
    if (now >= next_resync_)
      resync(now);
    else
      ++stats_.resyncs_deferred;
  }
  if (!reconcile_due(now, Clock::now() + slice, false)) ++stats_.reconcile_slices_spent;
  for (auto it = young_.begin(); it != young_.end();)
    it = now - it->second.created > options_.young ? young_.erase(it) : std::next(it);
}

bool Collector::reconcile_due(Clock::time_point now, Clock::time_point until, bool all_dirty) {
  std::vector<uint64_t> due;
  for (const auto& [inode, d] : dirty_)
    if (all_dirty || now - d.last >= options_.settle || now - d.first >= options_.max_delay)
      due.push_back(inode);
  bool first = true;  // at least one per call, however short the slice
  for (uint64_t inode : due) {
    if (!first && Clock::now() >= until) return false;
    if (dirty_.count(inode)) reconcile(inode, now, until);
    first = false;
  }
  return true;
}

bool Collector::reconcile_one(uint64_t inode, LiveModel::Change& change) {
  dirty_.erase(inode);
  const MountNamespace* ns = model_.find(inode);
  if (!ns) return false;
  std::vector<int> pids = ns->pids;
  for (int pid : pids) {
    auto fresh = source_.read(pid, options_.max_mountinfo_bytes);
    if (!fresh && fresh.error().errno_value == EFBIG) {
      // Every member sees the same table: the one read before stays.
      ++stats_.mountinfo_too_large;
      degrade("max_mountinfo_bytes", options_.max_mountinfo_bytes, kTooLargeEffect);
      return false;
    }
    if (fresh && fresh->inode == inode) {
      change = replace_within_bounds(inode, std::move(fresh->mounts));
      if (inode == model_.host_mntns()) host_layout_.reset();
      ++stats_.reconciles;
      return true;
    }
    model_.drop_pid(inode, pid);  // gone, or moved to another namespace
  }
  if (ns->pinned_only) return false;
  // Every process we knew of has left: look for any other before
  // declaring the namespace gone.
  for (int pid : members_of(inode)) {
    auto fresh = source_.read(pid, options_.max_mountinfo_bytes);
    if (!fresh || fresh->inode != inode) continue;
    model_.add_pid(inode, pid);
    change = replace_within_bounds(inode, std::move(fresh->mounts));
    ++stats_.reconciles;
    return true;
  }
  forget_namespace(inode);
  ++stats_.namespaces_gone;
  return false;
}

void Collector::reconcile(uint64_t inode, Clock::time_point now, Clock::time_point until) {
  struct Done {
    uint64_t inode;
    LiveModel::Change change;
    std::set<DevId> before;
  };
  std::vector<Done> done;
  std::deque<uint64_t> queue{inode};
  std::set<uint64_t> visited{inode};
  while (!queue.empty()) {
    uint64_t current = queue.front();
    queue.pop_front();
    if (current != inode && Clock::now() >= until) {
      // Out of time: the rest of the propagation is re-read at a later tick.
      mark_dirty(current, now);
      continue;
    }
    Done d{current, {}, tracked_devices_in(current)};
    if (!reconcile_one(current, d.change)) {
      ++stats_.reconcile_failures;
      continue;
    }
    if (options_.reconcile_propagation) {
      // Where these changes propagate: the peer groups of the mounts they
      // were attached to (or detached from), and their own.
      std::set<uint32_t> groups;
      const MountNamespace* ns = model_.find(current);
      auto note = [&](const MountEntry& m) {
        if (m.shared_group) groups.insert(m.shared_group);
        if (!ns) return;
        for (const auto& parent : ns->mounts)
          if (parent.mount_id == m.parent_id && parent.shared_group) groups.insert(parent.shared_group);
      };
      for (const auto& m : d.change.added) note(m);
      for (const auto& m : d.change.removed) note(m);
      for (uint64_t other : model_.namespaces_in_groups(groups, current))
        if (visited.insert(other).second) queue.push_back(other);
    }
    done.push_back(std::move(d));
  }
  for (const auto& d : done) {
    check_leaks(d.inode, d.before);
    check_copies(d.inode, now);
  }
}

void Collector::check_leaks(uint64_t inode, const std::set<DevId>& before) {
  if (inode != model_.host_mntns()) return;
  std::set<DevId> after = tracked_devices_in(inode);
  for (DevId dev : after) std::erase_if(reported_leaks_, [&](const auto& r) { return r.second == dev; });
  for (DevId dev : before) {
    if (after.count(dev)) continue;
    // The host's last mount is gone. Copies that followed it went with it;
    // re-read whoever still holds the device to be sure.
    for (uint64_t other : model_.namespaces_holding(dev)) {
      LiveModel::Change ignored;
      reconcile_one(other, ignored);
    }
    DeviceHolders d = holders_of(dev);
    std::vector<Holder> remaining;
    for (auto& h : d.holders)
      if (h.role != HolderRole::kHost) remaining.push_back(std::move(h));
    if (remaining.empty() || !reported_leaks_.insert({inode, dev}).second) continue;
    nlohmann::json j = finding("leak", d, remaining);
    if (auto t = last_trigger_.find(inode); t != last_trigger_.end())
      j["unmounted_by"] = process_json(t->second.pid, t->second.comm);
    emit(std::move(j));
  }
}

void Collector::check_orphaned_copies() {
  // A host unmount seen while the holder's namespace was not in the model
  // (lost events, or a bound reached) was judged without it; the resync
  // finds the copy the host no longer has. Only private copies count: a
  // device the host never mounted may be a pod's own.
  const std::set<DevId> host_has = tracked_devices_in(model_.host_mntns());
  std::set<DevId> held;
  for (const auto& [inode, ns] : model_.namespaces())
    if (inode != model_.host_mntns())
      for (const auto& m : ns.mounts)
        if (!host_has.count(m.dev) && tracked(m.dev)) held.insert(m.dev);
  for (DevId dev : held) {
    if (reported_leaks_.count({model_.host_mntns(), dev})) continue;
    DeviceHolders d = holders_of(dev);
    std::vector<Holder> leaks;
    for (auto& h : d.holders)
      if (h.role == HolderRole::kLeak) leaks.push_back(std::move(h));
    if (leaks.empty()) continue;
    reported_leaks_.insert({model_.host_mntns(), dev});
    nlohmann::json j = finding("leak", d, leaks);
    j["found_by"] = "resync";  // when the host unmounted it is not known
    emit(std::move(j));
  }
}

void Collector::check_copies(uint64_t inode, Clock::time_point now) {
  if (inode == model_.host_mntns()) return;
  const MountNamespace* ns = model_.find(inode);
  if (!ns) return;
  auto young = young_.find(inode);
  bool is_young = young != young_.end() && now - young->second.created <= options_.young;
  for (DevId dev : tracked_devices_in(inode)) {
    if (reported_copies_.count({inode, dev})) continue;
    DeviceHolders d = holders_of(dev);
    std::vector<Holder> mine;
    for (auto& h : d.holders)
      if (h.mntns == inode && h.role == HolderRole::kLeak) mine.push_back(std::move(h));
    if (mine.empty()) continue;  // none, or only copies that follow the host
    reported_copies_.insert({inode, dev});

    // The first private copy that a bind brought in explains it.
    const MountNamespace* host = model_.find(model_.host_mntns());
    std::set<uint32_t> groups = host ? host_peer_groups(*host, dev) : std::set<uint32_t>{};
    std::optional<BindOrigin> origin;
    static const std::vector<MountEntry> kNoMounts;
    for (const auto& m : ns->mounts) {
      if (m.dev != dev || follows_host(m, groups)) continue;
      origin = bind_origin(ns->mounts, host_layout(), host ? host->mounts : kNoMounts, m,
                           [this](DevId d) { return tracked(d); });
      if (origin) break;
    }
    if (origin) {
      nlohmann::json j = finding("hostpath_risk", d, mine);
      j["bind"] = bind_json(*origin);
      j["mntns"] = inode;
      if (auto t = last_trigger_.find(inode); t != last_trigger_.end())
        j["process"] = process_json(t->second.pid, t->second.comm);
      emit(std::move(j));
    }
    if (is_young) {
      nlohmann::json j = finding("mntns_copy", d, mine);
      j["mntns"] = inode;
      j["from_mntns"] = young->second.from;
      j["creator"] = process_json(young->second.creator.pid, young->second.creator.comm);
      emit(std::move(j));
    }
  }
}

std::optional<Collector::BusyDevice> Collector::busy_device(const KernelEvent& e, const BusyFailure& b) {
  const int pid = static_cast<int>(e.pid);
  const std::string& path = b.path;
  // The kernel tier names the device itself.
  if (b.dev != 0) return BusyDevice{kernel_dev(b.dev), "kernel"};
  // A path from the failing process's memory: looked up inside its root,
  // with a deadline. The process may have changed the string between the
  // call and the moment the tracepoint read it, so the finding says so.
  auto from_path = [&](bool device_node) -> std::optional<BusyDevice> {
    auto facts = stat_in_process_root(paths_.proc(), pid, b.dfd, path);
    if (!facts) {
      if (facts.error().errno_value == ETIMEDOUT) ++stats_.busy_path_timeouts;
      stats_.lookups_stuck = reap_abandoned_children();
      return std::nullopt;
    }
    if (!device_node) return BusyDevice{facts->dev, "path"};
    if (!S_ISBLK(facts->mode)) return std::nullopt;
    return BusyDevice{facts->rdev, "path"};
  };
  switch (b.source) {
    case BusySource::kUmount: {
      // The mount table first, no file system asked at all; but only for a
      // process whose root is its namespace's: in a chroot the same words
      // name another place.
      if (!path.empty() && path.front() == '/' && root_is_namespace_root(paths_.proc(), pid))
        if (const MountNamespace* ns = model_.find(e.mntns)) {
          const std::string target = strip_trailing_slash(path);
          for (auto it = ns->mounts.rbegin(); it != ns->mounts.rend(); ++it)
            if (it->mount_point == target) return BusyDevice{it->dev, "mount_table"};
        }
      return from_path(false);
    }
    case BusySource::kOpenExcl:
      return from_path(true);
    case BusySource::kRbdRemove: {
      // "4" or "4 force": the rbd device id.
      int id = -1;
      const char* end = path.data() + path.size();
      auto [stop, err] = std::from_chars(path.data(), end, id);
      if (err != std::errc() || id < 0 || (stop != end && *stop != ' ' && *stop != '\n')) return std::nullopt;
      auto dev = read_dev_pair(paths_.sys() + "/bus/rbd/devices/" + std::to_string(id));
      if (!dev) return std::nullopt;
      return BusyDevice{*dev, "rbd_id"};
    }
    case BusySource::kDetach:
    case BusySource::kNone:
      break;  // the tracepoint tier names a detached device itself too
  }
  return std::nullopt;
}

void Collector::on_busy(const KernelEvent& e, const BusyFailure& b) {
  // The model must be current before it names holders: re-read what is
  // pending now rather than at the next tick (within a slice: in a storm
  // the finding must not wait for all of it).
  auto now = Clock::now();
  members_.reset();
  if (!reconcile_due(now, now + options_.reconcile_slice, true)) ++stats_.reconcile_slices_spent;
  auto busy = busy_device(e, b);
  if (!busy || !tracked(busy->dev)) {
    ++stats_.unresolved_busy;
    return;
  }
  drop_dead_holders(busy->dev);
  DeviceHolders d = holders_of(busy->dev);
  nlohmann::json j = finding("busy", d, d.holders);
  j["source"] = busy_source_name(b.source);
  j["errno"] = "EBUSY";
  j["path"] = b.path;
  j["device_from"] = busy->from;
  j["process"] = process_json(static_cast<int>(e.pid), e.comm);
  j["mntns"] = e.mntns;
  j["kernel_ts_ns"] = e.ts_ns;
  uint64_t written = monotonic_ns();
  j["latency_us"] = written > e.ts_ns ? (written - e.ts_ns) / 1000 : 0;
  emit(std::move(j));
}

void Collector::on_lost(uint64_t count) {
  lost_unreported_ += count;
  // The first loss is said at once; the losses while a resync waits for
  // its backoff are summed into one lost event just before it.
  if (!resync_wanted_) {
    emit({{"event", "lost"}, {"count", lost_unreported_}});
    lost_unreported_ = 0;
  }
  resync_wanted_ = true;
}

void Collector::resync(Clock::time_point now) {
  if (options_.interrupted && options_.interrupted()) return;  // stopping: nobody waits for it
  if (lost_unreported_ > 0) {
    emit({{"event", "lost"}, {"count", lost_unreported_}});
    lost_unreported_ = 0;
  }
  resync_wanted_ = false;
  // Losses that keep coming back within twice the backoff double it.
  if (last_resync_ != Clock::time_point{} && now - last_resync_ < 2 * resync_backoff_)
    resync_backoff_ = std::min(2 * resync_backoff_, options_.resync_max_interval);
  else
    resync_backoff_ = options_.resync_min_interval;
  last_resync_ = now;
  next_resync_ = now + resync_backoff_;

  auto started = Clock::now();
  // What the host held before, so a leak that happened while we were blind
  // is still reported.
  std::set<DevId> host_before = tracked_devices_in(model_.host_mntns());
  auto snap = source_.snapshot(snapshot_limits());
  if (!snap) {
    warnings_.push_back("resync failed: " + snap.error().message);
    emit({{"event", "resync"}, {"ok", false}, {"error", snap.error().message}});
    return;
  }
  const ScanCounters counters = snap->counters;
  model_.reset(std::move(*snap));
  host_layout_.reset();
  attributor_.set_host_mntns(model_.host_mntns());
  dirty_.clear();
  ++stats_.resyncs;
  judge_snapshot_limits(counters);
  check_leaks(model_.host_mntns(), host_before);
  check_orphaned_copies();
  for (const auto& [inode, ns] : model_.namespaces()) check_copies(inode, Clock::now());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
  emit({{"event", "resync"},
        {"ok", true},
        {"namespaces", model_.namespaces().size()},
        {"duration_ms", ms},
        {"next_after_ms", resync_backoff_.count()}});
}

LiveModel::Change Collector::replace_within_bounds(uint64_t inode, std::vector<MountEntry> mounts) {
  const MountNamespace* ns = model_.find(inode);
  const size_t others = model_.mount_count() - (ns ? ns->mounts.size() : 0);
  if (inode == model_.host_mntns() || others + mounts.size() <= options_.max_mounts)
    return model_.replace_mounts(inode, std::move(mounts));
  ++stats_.namespaces_trimmed;
  degrade("max_mounts", options_.max_mounts, kTrimmedEffect);
  return model_.replace_mounts(inode, mounts_kept(mounts, keep_tracked_), true);
}

nlohmann::json Collector::bounds_json() const {
  auto ms = [](std::chrono::milliseconds d) { return d.count(); };
  return {{"max_namespaces", options_.max_namespaces},
          {"namespaces", model_.namespaces().size()},
          {"max_mounts", options_.max_mounts},
          {"mounts", model_.mount_count()},
          {"namespaces_trimmed_now", model_.trimmed_count()},
          {"max_mountinfo_bytes", options_.max_mountinfo_bytes},
          {"resync_min_interval_ms", ms(options_.resync_min_interval)},
          {"resync_max_interval_ms", ms(options_.resync_max_interval)},
          {"resync_backoff_ms", ms(resync_backoff_)},
          {"reconcile_slice_ms", ms(options_.reconcile_slice)},
          {"degraded", degraded_}};
}

}  // namespace mountleak

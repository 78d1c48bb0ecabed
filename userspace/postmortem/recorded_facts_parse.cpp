// SPDX-License-Identifier: Apache-2.0
#include "postmortem/recorded_facts_parse.h"

#include <limits>

#include "model/mountinfo.h"
#include "postmortem/replay_fields.h"

namespace mountleak {

using namespace replay_fields;

namespace {

constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();
// A descriptor number: below the kernel's hard limit on open files (fs.nr_open).
constexpr uint64_t kMaxFd = std::numeric_limits<int>::max();
constexpr int64_t kMaxMs = int64_t{1} << 40;
// More namespaces than any snapshot trace would keep (--max-namespaces is at
// most 2^24).
constexpr size_t kMaxNamespaces = size_t{1} << 24;

#define TRY(var, expr)              \
  auto var = (expr);                \
  if (!var) return var.error()

Result<std::vector<MountEntry>> mounts_field(const nlohmann::json& j) {
  TRY(text, string_field(j, "mountinfo", kMaxTable));
  MountTable table = parse_mountinfo(*text, "recorded table");
  if (!table.issues.empty())
    return Error{"field mountinfo: line " + std::to_string(table.issues.front().line) + ": " +
                 table.issues.front().reason};
  return std::move(table.mounts);
}

Result<MountNamespace> namespace_value(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"namespace: not an object"};
  MountNamespace ns;
  TRY(inode, unsigned_field(j, "inode", kU64));
  TRY(pids, pid_array(j, "pids"));
  TRY(mounts, mounts_field(j));
  ns.inode = *inode;
  ns.pids = std::move(*pids);
  ns.mounts = std::move(*mounts);
  if (auto p = j.find("pinned_only"); p != j.end()) ns.pinned_only = p->is_boolean() && p->get<bool>();
  TRY(pinned_at, string_field(j, "pinned_at", kMaxString, true));
  ns.pinned_at = std::move(*pinned_at);
  if (j.contains("pinned_from")) {
    TRY(from, unsigned_field(j, "pinned_from", kU64));
    ns.pinned_from = *from;
  }
  if (auto held = j.find("held_open_by"); held != j.end()) {
    if (!held->is_object()) return Error{"field held_open_by: not an object"};
    TRY(by, unsigned_field(*held, "pid", kMaxPid));
    TRY(fd, unsigned_field(*held, "fd", kMaxFd));
    ns.held_open_by = static_cast<int>(*by);
    ns.held_open_fd = static_cast<int>(*fd);
  }
  if (auto t = j.find("trimmed"); t != j.end()) ns.trimmed = t->is_boolean() && t->get<bool>();
  TRY(read_error, string_field(j, "read_error", kMaxString, true));
  ns.read_error = std::move(*read_error);
  return ns;
}

Result<RecordedSettings> settings_value(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"settings: not an object"};
  RecordedSettings s;
  TRY(settle, signed_field(j, "settle_ms", 0, kMaxMs));
  TRY(max_delay, signed_field(j, "max_delay_ms", 0, kMaxMs));
  TRY(young, signed_field(j, "young_ms", 0, kMaxMs));
  TRY(liveness, signed_field(j, "liveness_period_ms", 0, kMaxMs));
  TRY(propagation, bool_field(j, "reconcile_propagation"));
  TRY(max_ns, unsigned_field(j, "max_namespaces", kMaxNamespaces));
  TRY(max_mounts, unsigned_field(j, "max_mounts", uint64_t{1} << 28));
  TRY(max_bytes, unsigned_field(j, "max_mountinfo_bytes", uint64_t{1} << 30));
  TRY(rmin, signed_field(j, "resync_min_interval_ms", 0, kMaxMs));
  TRY(rmax, signed_field(j, "resync_max_interval_ms", 0, kMaxMs));
  s.settle_ms = *settle;
  s.max_delay_ms = *max_delay;
  s.young_ms = *young;
  s.liveness_period_ms = *liveness;
  s.reconcile_propagation = *propagation;
  // Absent from logs written before the passive tier: false.
  if (j.contains("discover_in_sweep")) {
    TRY(discover, bool_field(j, "discover_in_sweep"));
    s.discover_in_sweep = *discover;
  }
  s.max_namespaces = *max_ns;
  s.max_mounts = *max_mounts;
  s.max_mountinfo_bytes = *max_bytes;
  s.resync_min_interval_ms = *rmin;
  s.resync_max_interval_ms = *rmax;
  return s;
}

Result<NodeFact> snapshot_fact(const nlohmann::json& j) {
  RecordedSnapshot f;
  TRY(start, bool_field(j, "start"));
  f.start = *start;
  if (auto s = j.find("settings"); s != j.end()) {
    TRY(settings, settings_value(*s));
    f.settings = *settings;
  }
  if (j.contains("error")) {
    TRY(error, string_field(j, "error"));
    f.error = *error;
    if (f.error.empty()) f.error = "the recorded snapshot failed";
    return NodeFact{std::move(f)};
  }
  TRY(host, unsigned_field(j, "host_mntns", kU64));
  f.snapshot.host_mntns = *host;
  auto list = j.find("namespaces");
  if (list == j.end() || !list->is_array() || list->size() > kMaxNamespaces)
    return Error{"field namespaces: missing, not an array, or too long"};
  for (const auto& n : *list) {
    TRY(ns, namespace_value(n));
    const uint64_t inode = ns->inode;
    f.snapshot.namespaces[inode] = std::move(*ns);
  }
  if (auto c = j.find("counters"); c != j.end() && c->is_object()) {
    if (auto v = unsigned_field(*c, "namespaces_left_out", kU64)) f.snapshot.counters.namespaces_left_out = *v;
    if (auto v = unsigned_field(*c, "namespaces_trimmed", kU64)) f.snapshot.counters.namespaces_trimmed = *v;
    if (auto v = unsigned_field(*c, "mountinfo_too_large", kU64)) f.snapshot.counters.mountinfo_too_large = *v;
  }
  TRY(warnings, string_array(j, "warnings", true));
  f.snapshot.warnings = std::move(*warnings);
  return NodeFact{std::move(f)};
}

Result<NodeFact> read_fact(const nlohmann::json& j) {
  RecordedRead f;
  TRY(pid, unsigned_field(j, "pid", kMaxPid));
  f.pid = static_cast<int>(*pid);
  if (j.contains("errno")) {
    TRY(err, signed_field(j, "errno", 1, 4095));
    TRY(error, string_field(j, "error", kMaxString, true));
    f.error_errno = static_cast<int>(*err);
    f.error = std::move(*error);
    return NodeFact{std::move(f)};
  }
  TRY(inode, unsigned_field(j, "inode", kU64));
  TRY(mounts, mounts_field(j));
  f.ns.inode = *inode;
  f.ns.mounts = std::move(*mounts);
  return NodeFact{std::move(f)};
}

Result<NodeFact> members_fact(const nlohmann::json& j) {
  RecordedMembers f;
  TRY(full, bool_field(j, "full"));
  f.full = *full;
  auto set = j.find("set");
  if (set == j.end() || !set->is_array() || set->size() > kMaxNamespaces) return Error{"field set: not an array"};
  for (const auto& entry : *set) {
    if (!entry.is_object()) return Error{"field set: not an object"};
    TRY(inode, unsigned_field(entry, "inode", kU64));
    TRY(pids, pid_array(entry, "pids"));
    f.set[*inode] = std::move(*pids);
  }
  auto gone = j.find("gone");
  if (gone == j.end() || !gone->is_array() || gone->size() > kMaxNamespaces) return Error{"field gone: not an array"};
  for (const auto& inode : *gone) {
    if (!inode.is_number_unsigned()) return Error{"field gone: not an inode"};
    f.gone.push_back(inode.get<uint64_t>());
  }
  return NodeFact{std::move(f)};
}

Result<NodeFact> namespace_of_fact(const nlohmann::json& j) {
  RecordedNamespaceOf f;
  TRY(pid, unsigned_field(j, "pid", kMaxPid));
  f.pid = static_cast<int>(*pid);
  if (auto it = j.find("inode"); it != j.end() && !it->is_null()) {
    TRY(inode, unsigned_field(j, "inode", kU64));
    f.inode = *inode;
  }
  return NodeFact{f};
}

Result<NodeFact> held_open_fact(const nlohmann::json& j) {
  RecordedHeldOpen f;
  TRY(inode, unsigned_field(j, "inode", kU64));
  f.inode = *inode;
  if (auto it = j.find("pid"); it != j.end() && !it->is_null()) {
    TRY(pid, unsigned_field(j, "pid", kMaxPid));
    TRY(fd, unsigned_field(j, "fd", kMaxFd));
    if (*pid == 0) return Error{"field pid: 0"};
    f.pid = static_cast<int>(*pid);
    f.fd = static_cast<int>(*fd);
  }
  return NodeFact{f};
}

Result<NodeFact> attribution_fact(const nlohmann::json& j) {
  Attribution who;
  TRY(pids, pid_array(j, "pids"));
  who.pids = std::move(*pids);
  if (auto same = j.find("same"); same != j.end()) {
    if (!same->is_boolean() || !same->get<bool>()) return Error{"field same: not true"};
    return NodeFact{RecordedAttribution{std::move(who), true, {}}};
  }
  std::vector<int> asked;
  if (j.contains("asked")) {
    TRY(pids_asked, pid_array(j, "asked"));
    asked = std::move(*pids_asked);
  }
  auto processes = j.find("processes");
  if (processes == j.end() || !processes->is_array() || processes->size() > Attributor::kMaxProcesses)
    return Error{"field processes: not an array, or too long"};
  for (const auto& p : *processes) {
    if (!p.is_object()) return Error{"field processes: not an object"};
    TRY(pid, unsigned_field(p, "pid", kMaxPid));
    TRY(comm, string_field(p, "comm", 64));
    TRY(cmdline, string_array(p, "cmdline"));
    who.processes.push_back(ProcessRef{static_cast<int>(*pid), std::move(*comm), std::move(*cmdline)});
  }
  if (auto c = j.find("container"); c != j.end() && c->is_object()) {
    TRY(runtime, string_field(*c, "runtime", 64, true));
    TRY(id, string_field(*c, "id", 256));
    TRY(name, string_field(*c, "name", kMaxString, true));
    who.container = ContainerRef{std::move(*runtime), std::move(*id), std::move(*name)};
    if (auto orphan = c->find("unknown_to_runtime"); orphan != c->end()) {
      if (!orphan->is_boolean()) return Error{"field container.unknown_to_runtime: not a boolean"};
      TRY(shim, unsigned_field(*c, "shim_pid", kMaxPid));
      who.container->unknown_to_runtime = orphan->get<bool>();
      who.container->shim_pid = static_cast<int>(*shim);
      if (auto init = c->find("init_pid"); init != c->end() && !init->is_null()) {
        TRY(init_pid, unsigned_field(*c, "init_pid", kMaxPid));
        who.container->init_pid = static_cast<int>(*init_pid);
      }
    }
  }
  if (auto p = j.find("pod"); p != j.end() && p->is_object()) {
    TRY(ns, string_field(*p, "namespace", 256, true));
    TRY(name, string_field(*p, "name", 256, true));
    TRY(uid, string_field(*p, "uid", 256, true));
    who.pod = PodRef{std::move(*ns), std::move(*name), std::move(*uid)};
  }
  TRY(how, string_field(j, "how", 64, true));
  who.how = std::move(*how);
  TRY(note, string_field(j, "note", kMaxString, true));
  who.note = std::move(*note);
  if (auto mounts = j.find("container_mounts"); mounts != j.end()) {
    if (!mounts->is_array() || mounts->size() > 4096) return Error{"field container_mounts: not an array"};
    for (const auto& m : *mounts) {
      if (!m.is_object()) return Error{"field container_mounts: not an object"};
      OciMount o;
      TRY(source, string_field(m, "source", kMaxString, true));
      TRY(destination, string_field(m, "destination", kMaxString, true));
      TRY(type, string_field(m, "type", 256, true));
      TRY(options, string_array(m, "options", true));
      TRY(propagation, string_field(m, "propagation", 64, true));
      o.source = std::move(*source);
      o.destination = std::move(*destination);
      o.type = std::move(*type);
      o.options = std::move(*options);
      o.propagation = std::move(*propagation);
      who.container_mounts.push_back(std::move(o));
    }
  }
  return NodeFact{RecordedAttribution{std::move(who), false, std::move(asked)}};
}

Result<DeviceRef> device_value(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"field device: not an object"};
  DeviceRef d;
  TRY(path, string_field(j, "path", kMaxString, true));
  TRY(major, unsigned_field(j, "major", std::numeric_limits<uint32_t>::max()));
  TRY(minor, unsigned_field(j, "minor", std::numeric_limits<uint32_t>::max()));
  TRY(name, string_field(j, "name", 256, true));
  TRY(backing, string_field(j, "backing_file", kMaxString, true));
  d.path = std::move(*path);
  d.dev = DevId{static_cast<uint32_t>(*major), static_cast<uint32_t>(*minor)};
  d.kernel_name = std::move(*name);
  d.loop_backing_file = std::move(*backing);
  if (auto r = j.find("rbd"); r != j.end() && r->is_object()) {
    RbdInfo rbd;
    TRY(id, signed_field(*r, "id", -1, 1 << 20));
    TRY(pool, string_field(*r, "pool", kMaxString, true));
    TRY(image, string_field(*r, "image", kMaxString, true));
    TRY(ns, string_field(*r, "namespace", kMaxString, true));
    TRY(client, string_field(*r, "client_id", 256, true));
    TRY(snap, string_field(*r, "snap", kMaxString, true));
    rbd.id = static_cast<int>(*id);
    rbd.pool = std::move(*pool);
    rbd.image = std::move(*image);
    rbd.rados_namespace = std::move(*ns);
    rbd.client_id = std::move(*client);
    rbd.snap = std::move(*snap);
    d.rbd = std::move(rbd);
  }
  if (auto m = j.find("dm"); m != j.end() && m->is_object()) {
    DmInfo dm;
    TRY(name, string_field(*m, "name", 256, true));
    TRY(uuid, string_field(*m, "uuid", 256, true));
    TRY(slaves, string_array(*m, "slaves", true));
    TRY(more, bool_field(*m, "more_slaves"));
    if (slaves->size() > kMaxDmSlaves) return Error{"field dm.slaves: more than " + std::to_string(kMaxDmSlaves)};
    dm.name = std::move(*name);
    dm.uuid = std::move(*uuid);
    dm.slaves = std::move(*slaves);
    dm.more_slaves = *more;
    d.dm = std::move(dm);
  }
  return d;
}

Result<NodeFact> device_fact(const nlohmann::json& j) {
  RecordedDevice f;
  TRY(dev, dev_field(j, "dev"));
  f.dev = *dev;
  if (j.contains("tracked")) {
    TRY(tracked, bool_field(j, "tracked"));
    f.tracked = *tracked;
  }
  if (auto d = j.find("device"); d != j.end()) {
    TRY(described, device_value(*d));
    f.described = std::move(*described);
  }
  if (!f.tracked && !f.described) return Error{"recorded_device: neither tracked nor device"};
  return NodeFact{std::move(f)};
}

Result<NodeFact> host_layout_fact(const nlohmann::json& j) {
  RecordedHostLayout f;
  TRY(root, string_field(j, "host_root"));
  f.host_root = std::move(*root);
  auto k = j.find("kubelet_root");
  if (k == j.end() || !k->is_object()) return Error{"field kubelet_root: not an object"};
  TRY(configured, string_field(*k, "configured", kMaxString, true));
  TRY(host_path, string_field(*k, "host_path", kMaxString, true));
  TRY(spellings, string_array(*k, "spellings", true));
  TRY(note, string_field(*k, "note", kMaxString, true));
  f.kubelet.configured = std::move(*configured);
  f.kubelet.host_path = std::move(*host_path);
  f.kubelet.spellings = std::move(*spellings);
  f.kubelet.note = std::move(*note);
  if (auto p = k->find("place"); p != k->end() && p->is_object()) {
    TRY(dev, dev_field(*p, "dev"));
    TRY(path, string_field(*p, "path"));
    f.kubelet.place = FsPlace{*dev, std::move(*path)};
  }
  return NodeFact{std::move(f)};
}

Result<NodeFact> busy_device_fact(const nlohmann::json& j) {
  RecordedBusyDevice f;
  TRY(pid, unsigned_field(j, "pid", kMaxPid));
  TRY(ts, unsigned_field(j, "ts_ns", kU64));
  f.pid = static_cast<uint32_t>(*pid);
  f.ts_ns = *ts;
  if (auto d = j.find("dev"); d != j.end() && !d->is_null()) {
    TRY(dev, dev_field(j, "dev"));
    f.dev = *dev;
  }
  TRY(from, string_field(j, "from", 64, true));
  f.from = std::move(*from);
  return NodeFact{std::move(f)};
}

Result<FdHolder> open_holder_value(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"open holder: not an object"};
  FdHolder h;
  TRY(pid, unsigned_field(j, "pid", kMaxPid));
  TRY(fd, signed_field(j, "fd", -1, std::numeric_limits<int>::max()));
  TRY(target, string_field(j, "target"));
  TRY(dev, dev_field(j, "dev"));
  TRY(kind, string_field(j, "kind", 16));
  TRY(device_node, bool_field(j, "device_node"));
  TRY(mntns, unsigned_field(j, "mntns", kU64));
  h.pid = static_cast<int>(*pid);
  h.fd = static_cast<int>(*fd);
  h.target = std::move(*target);
  h.dev = *dev;
  h.kind = std::move(*kind);
  h.device_node = *device_node;
  h.mntns = *mntns;
  return h;
}

// As many as one walk over a node's processes could find.
constexpr size_t kMaxOpenHolders = size_t{1} << 20;

Result<NodeFact> open_holders_fact(const nlohmann::json& j) {
  RecordedOpenHolders f;
  TRY(dev, dev_field(j, "dev"));
  f.dev = *dev;
  auto found = j.find("found");
  if (found == j.end() || !found->is_array()) return Error{"field found: not an array"};
  if (found->size() > kMaxOpenHolders) return Error{"field found: too many entries"};
  for (const auto& h : *found) {
    TRY(holder, open_holder_value(h));
    f.found.push_back(std::move(*holder));
  }
  return NodeFact{std::move(f)};
}

#undef TRY

}  // namespace

bool is_recorded_fact(std::string_view name) { return name.substr(0, 9) == "recorded_"; }

Result<NodeFact> parse_recorded_fact(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"not a JSON object"};
  auto name = string_field(j, "event", 64);
  if (!name) return name.error();
  Result<NodeFact> fact = Error{"unknown recorded fact: " + *name};
  if (*name == "recorded_snapshot") fact = snapshot_fact(j);
  else if (*name == "recorded_read") fact = read_fact(j);
  else if (*name == "recorded_members") fact = members_fact(j);
  else if (*name == "recorded_namespace_of") fact = namespace_of_fact(j);
  else if (*name == "recorded_attribution") fact = attribution_fact(j);
  else if (*name == "recorded_device") fact = device_fact(j);
  else if (*name == "recorded_host_layout") fact = host_layout_fact(j);
  else if (*name == "recorded_busy_device") fact = busy_device_fact(j);
  else if (*name == "recorded_open_holders") fact = open_holders_fact(j);
  else if (*name == "recorded_held_open") fact = held_open_fact(j);
  if (!fact) return Error{*name + ": " + fact.error().message};
  return fact;
}

}  // namespace mountleak

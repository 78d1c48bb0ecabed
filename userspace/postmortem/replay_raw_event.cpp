// SPDX-License-Identifier: Apache-2.0
#include "postmortem/replay_raw_event.h"

#include <charconv>
#include <limits>

#include "output/raw_event_json.h"
#include "postmortem/replay_fields.h"

namespace mountleak {

using namespace replay_fields;

namespace {

constexpr EventKind kKinds[] = {EventKind::kMntns,        EventKind::kSetns,          EventKind::kMount,
                                EventKind::kUmount,       EventKind::kOpenTree,       EventKind::kMoveMount,
                                EventKind::kFsmount,      EventKind::kMountSetattr,   EventKind::kBusy,
                                EventKind::kPropagateMount, EventKind::kPropagateUmount,
                                EventKind::kMountTableChanged};
constexpr BusySource kBusySources[] = {BusySource::kNone, BusySource::kRbdRemove, BusySource::kUmount,
                                       BusySource::kOpenExcl, BusySource::kDetach, BusySource::kDmRemove};

constexpr uint64_t kU32 = std::numeric_limits<uint32_t>::max();
constexpr uint64_t kU64 = std::numeric_limits<uint64_t>::max();
constexpr int64_t kI32Min = std::numeric_limits<int32_t>::min();
constexpr int64_t kI32Max = std::numeric_limits<int32_t>::max();

// Each step either fills its field or records the first error.
struct Reader {
  const nlohmann::json& j;
  std::optional<Error> error;

  template <class T>
  void u(const char* key, T& out, uint64_t max) {
    if (error) return;
    auto v = unsigned_field(j, key, max);
    if (!v) error = v.error();
    else out = static_cast<T>(*v);
  }
  void i32(const char* key, int32_t& out) {
    if (error) return;
    auto v = signed_field(j, key, kI32Min, kI32Max);
    if (!v) error = v.error();
    else out = static_cast<int32_t>(*v);
  }
  void s(const char* key, std::string& out, bool optional = false) {
    if (error) return;
    auto v = string_field(j, key, kMaxString, optional);
    if (!v) error = v.error();
    else out = std::move(*v);
  }
  void flags(const char* key, uint64_t& out) {
    if (error) return;
    std::string text;
    s(key, text);
    if (error) return;
    auto v = parse_mount_flags(text);
    if (!v) error = Error{std::string("field ") + key + ": unknown mount flag"};
    else out = *v;
  }
};

}  // namespace

std::optional<EventKind> raw_event_kind(std::string_view name) {
  for (EventKind k : kKinds)
    if (event_kind_name(k) == name) return k;
  return std::nullopt;
}

std::optional<uint64_t> parse_mount_flags(std::string_view text) {
  uint64_t flags = 0;
  while (!text.empty()) {
    const size_t bar = text.find('|');
    const std::string_view name = text.substr(0, bar);
    text = bar == std::string_view::npos ? std::string_view{} : text.substr(bar + 1);
    if (name.size() > 2 && name.substr(0, 2) == "0x") {
      uint64_t v = 0;
      auto [end, err] = std::from_chars(name.data() + 2, name.data() + name.size(), v, 16);
      if (err != std::errc() || end != name.data() + name.size()) return std::nullopt;
      flags |= v;
      continue;
    }
    bool known = false;
    for (uint64_t bit = 1; bit != 0; bit <<= 1)
      if (mount_flags_text(bit) == name) {
        flags |= bit;
        known = true;
        break;
      }
    if (!known) return std::nullopt;
  }
  return flags;
}

Result<KernelEvent> parse_raw_event(const nlohmann::json& j) {
  if (!j.is_object()) return Error{"not a JSON object"};
  auto name = string_field(j, "event", 64);
  if (!name) return name.error();
  auto kind = raw_event_kind(*name);
  if (!kind) return Error{"not a raw kernel event: " + *name};

  KernelEvent e;
  e.kind = *kind;
  Reader r{j, std::nullopt};
  r.u("ts_ns", e.ts_ns, kU64);
  r.u("pid", e.pid, kMaxPid);
  r.u("tid", e.tid, kMaxPid);
  r.u("ppid", e.ppid, kMaxPid);
  r.u("mntns", e.mntns, kU32);
  r.u("cgroup_id", e.cgroup_id, kU64);
  r.i32("ret", e.ret);
  r.s("comm", e.comm);
  if (!r.error && e.comm.size() > 64) r.error = Error{"field comm: too long"};
  std::string tier;
  r.s("tier", tier);
  if (!r.error) {
    bool known = false;
    for (EventTier t : {EventTier::kTracepoint, EventTier::kKernel, EventTier::kPassive})
      if (event_tier_name(t) == tier) {
        e.tier = t;
        known = true;
      }
    if (!known) r.error = Error{"field tier: unknown"};
  }

  switch (e.kind) {
    case EventKind::kMntns:
    case EventKind::kSetns: {
      NamespaceSwitch p;
      r.u("old_mntns", p.old_mntns, kU32);
      r.u("flags", p.flags, kU64);
      e.payload = p;
      break;
    }
    case EventKind::kMount: {
      MountCall p;
      r.s("source", p.source);
      r.s("target", p.target);
      r.s("fstype", p.fstype);
      r.flags("flags", p.flags);
      e.payload = p;
      break;
    }
    case EventKind::kUmount: {
      UmountCall p;
      r.s("target", p.target);
      r.u("flags", p.flags, kU64);
      e.payload = p;
      break;
    }
    case EventKind::kOpenTree: {
      OpenTreeCall p;
      r.i32("dfd", p.dfd);
      r.s("path", p.path);
      r.u("flags", p.flags, kU64);
      e.payload = p;
      break;
    }
    case EventKind::kMoveMount: {
      MoveMountCall p;
      r.i32("from_dfd", p.from_dfd);
      r.s("from", p.from);
      r.i32("to_dfd", p.to_dfd);
      r.s("to", p.to);
      r.u("flags", p.flags, kU64);
      e.payload = p;
      break;
    }
    case EventKind::kFsmount: {
      FsmountCall p;
      r.i32("fs_fd", p.fs_fd);
      r.u("flags", p.flags, kU64);
      r.u("attr_flags", p.attr_flags, kU64);
      e.payload = p;
      break;
    }
    case EventKind::kMountSetattr: {
      MountSetattrCall p;
      r.i32("dfd", p.dfd);
      r.s("path", p.path);
      r.u("flags", p.flags, kU64);
      r.u("attr_set", p.attr_set, kU64);
      r.flags("propagation", p.propagation);
      e.payload = p;
      break;
    }
    case EventKind::kPropagateMount:
    case EventKind::kPropagateUmount: {
      PropagatedChange p;
      r.s("mountpoint_name", p.mountpoint_name);
      if (!r.error) {
        auto dev = dev_field(j, "dev");
        if (!dev) r.error = dev.error();
        else if (dev->major > 0xfff || dev->minor > 0xfffff) r.error = Error{"field dev: not a kernel dev_t"};
        else p.dev = (uint64_t{dev->major} << 20) | dev->minor;
      }
      e.payload = p;
      break;
    }
    case EventKind::kMountTableChanged: {
      MountTableChanged p;
      std::string seen;
      r.s("seen", seen);
      bool known = false;
      for (TableChangeSeen s : {TableChangeSeen::kPoll, TableChangeSeen::kWatch, TableChangeSeen::kTimer})
        if (table_change_seen_name(s) == seen) {
          p.seen = s;
          known = true;
        }
      if (!r.error && !known) r.error = Error{"field seen: unknown"};
      e.payload = p;
      break;
    }
    case EventKind::kBusy: {
      BusyFailure p;
      std::string source;
      r.s("source", source);
      if (!r.error) {
        bool known = false;
        for (BusySource s : kBusySources)
          if (busy_source_name(s) == source) {
            p.source = s;
            known = true;
          }
        if (!known) r.error = Error{"field source: unknown busy source"};
      }
      r.s("path", p.path);
      r.s("file", p.file, true);
      r.u("flags", p.flags, kU64);
      r.u("arg", p.arg, kU64);
      r.u("arg2", p.dev, kU64);
      e.payload = p;
      break;
    }
  }
  if (r.error) return Error{*name + ": " + r.error->message};
  return e;
}

}  // namespace mountleak

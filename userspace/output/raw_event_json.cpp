// SPDX-License-Identifier: Apache-2.0
#include "output/raw_event_json.h"

#include <sys/mount.h>

#include <fmt/core.h>

#include <utility>

namespace mountleak {

namespace {

constexpr std::pair<uint64_t, const char*> kMountFlags[] = {
    {MS_RDONLY, "MS_RDONLY"},   {MS_NOSUID, "MS_NOSUID"},         {MS_NODEV, "MS_NODEV"},
    {MS_NOEXEC, "MS_NOEXEC"},   {MS_REMOUNT, "MS_REMOUNT"},       {MS_BIND, "MS_BIND"},
    {MS_MOVE, "MS_MOVE"},       {MS_REC, "MS_REC"},               {MS_UNBINDABLE, "MS_UNBINDABLE"},
    {MS_PRIVATE, "MS_PRIVATE"}, {MS_SLAVE, "MS_SLAVE"},           {MS_SHARED, "MS_SHARED"},
    {MS_SILENT, "MS_SILENT"},   {MS_RELATIME, "MS_RELATIME"},     {MS_NOATIME, "MS_NOATIME"},
    {MS_STRICTATIME, "MS_STRICTATIME"}, {MS_LAZYTIME, "MS_LAZYTIME"}, {MS_DIRSYNC, "MS_DIRSYNC"},
    {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_MANDLOCK, "MS_MANDLOCK"}, {MS_NODIRATIME, "MS_NODIRATIME"}};

}  // namespace

std::string_view event_kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kMntns: return "mntns";
    case EventKind::kSetns: return "setns";
    case EventKind::kMount: return "mount";
    case EventKind::kUmount: return "umount";
    case EventKind::kOpenTree: return "open_tree";
    case EventKind::kMoveMount: return "move_mount";
    case EventKind::kFsmount: return "fsmount";
    case EventKind::kMountSetattr: return "mount_setattr";
    case EventKind::kBusy: return "busy_raw";
    case EventKind::kPropagateMount: return "propagate_mount";
    case EventKind::kPropagateUmount: return "propagate_umount";
    case EventKind::kMountTableChanged: return "mount_table_changed";
  }
  return "unknown";
}

std::string_view busy_source_name(BusySource source) {
  switch (source) {
    case BusySource::kRbdRemove: return "rbd_remove";
    case BusySource::kUmount: return "umount";
    case BusySource::kOpenExcl: return "open_excl";
    case BusySource::kDetach: return "detach";
    case BusySource::kDmRemove: return "dm_remove";
    case BusySource::kNone: break;
  }
  return "none";
}

std::string mount_flags_text(uint64_t flags) {
  // MS_MGC_VAL in the top half is a legacy magic, not flags.
  if ((flags & 0xffff0000u) == 0xc0ed0000u) flags &= 0xffffu;
  std::string out;
  for (const auto& [bit, name] : kMountFlags)
    if (flags & bit) {
      out += out.empty() ? "" : "|";
      out += name;
      flags &= ~bit;
    }
  if (flags) out += (out.empty() ? "" : "|") + fmt::format("{:#x}", flags);
  return out;
}

namespace {

// Each payload adds its own fields, named as the call names its arguments.
struct PayloadFields {
  nlohmann::json& j;
  void operator()(const NamespaceSwitch& p) const {
    j["old_mntns"] = p.old_mntns;
    j["flags"] = p.flags;
  }
  void operator()(const MountCall& p) const {
    j["source"] = p.source;
    j["target"] = p.target;
    j["fstype"] = p.fstype;
    j["flags"] = mount_flags_text(p.flags);
  }
  void operator()(const UmountCall& p) const {
    j["target"] = p.target;
    j["flags"] = p.flags;
  }
  void operator()(const OpenTreeCall& p) const {
    j["dfd"] = p.dfd;
    j["path"] = p.path;
    j["flags"] = p.flags;
  }
  void operator()(const MoveMountCall& p) const {
    j["from_dfd"] = p.from_dfd;
    j["from"] = p.from;
    j["to_dfd"] = p.to_dfd;
    j["to"] = p.to;
    j["flags"] = p.flags;
  }
  void operator()(const FsmountCall& p) const {
    j["fs_fd"] = p.fs_fd;
    j["flags"] = p.flags;
    j["attr_flags"] = p.attr_flags;
  }
  void operator()(const MountSetattrCall& p) const {
    j["dfd"] = p.dfd;
    j["path"] = p.path;
    j["flags"] = p.flags;
    j["attr_set"] = p.attr_set;
    j["propagation"] = mount_flags_text(p.propagation);
  }
  void operator()(const PropagatedChange& p) const {
    j["mountpoint_name"] = p.mountpoint_name;
    j["dev"] = fmt::format("{}:{}", p.dev >> 20, p.dev & 0xfffff);
  }
  void operator()(const BusyFailure& p) const {
    j["source"] = busy_source_name(p.source);
    j["path"] = p.path;
    if (!p.file.empty()) j["file"] = p.file;
    j["flags"] = p.flags;
    j["arg"] = p.arg;
    j["arg2"] = p.dev;
  }
  void operator()(const MountTableChanged& p) const { j["seen"] = table_change_seen_name(p.seen); }
};

}  // namespace

nlohmann::json raw_event_json(const KernelEvent& e) {
  nlohmann::json j = {{"event", event_kind_name(e.kind)},
                      {"ts_ns", e.ts_ns},
                      {"pid", e.pid},
                      {"tid", e.tid},
                      {"ppid", e.ppid},
                      {"comm", e.comm},
                      {"mntns", e.mntns},
                      {"cgroup_id", e.cgroup_id},
                      {"ret", e.ret},
                      {"tier", event_tier_name(e.tier)}};
  std::visit(PayloadFields{j}, e.payload);
  return j;
}

}  // namespace mountleak

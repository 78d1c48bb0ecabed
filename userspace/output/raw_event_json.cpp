// SPDX-License-Identifier: Apache-2.0
#include "output/raw_event_json.h"

#include <sys/mount.h>

#include <fmt/core.h>

#include <cstring>
#include <utility>

namespace mountleak {

namespace {

std::string c_string(const char* s, size_t max) { return std::string(s, strnlen(s, max)); }

constexpr std::pair<uint64_t, const char*> kMountFlags[] = {
    {MS_RDONLY, "MS_RDONLY"},   {MS_NOSUID, "MS_NOSUID"},         {MS_NODEV, "MS_NODEV"},
    {MS_NOEXEC, "MS_NOEXEC"},   {MS_REMOUNT, "MS_REMOUNT"},       {MS_BIND, "MS_BIND"},
    {MS_MOVE, "MS_MOVE"},       {MS_REC, "MS_REC"},               {MS_UNBINDABLE, "MS_UNBINDABLE"},
    {MS_PRIVATE, "MS_PRIVATE"}, {MS_SLAVE, "MS_SLAVE"},           {MS_SHARED, "MS_SHARED"},
    {MS_SILENT, "MS_SILENT"},   {MS_RELATIME, "MS_RELATIME"},     {MS_NOATIME, "MS_NOATIME"},
    {MS_STRICTATIME, "MS_STRICTATIME"}, {MS_LAZYTIME, "MS_LAZYTIME"}, {MS_DIRSYNC, "MS_DIRSYNC"},
    {MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {MS_MANDLOCK, "MS_MANDLOCK"}, {MS_NODIRATIME, "MS_NODIRATIME"}};

}  // namespace

std::string_view event_kind_name(uint32_t kind) {
  switch (kind) {
    case ML_EV_MNTNS: return "mntns";
    case ML_EV_SETNS: return "setns";
    case ML_EV_MOUNT: return "mount";
    case ML_EV_UMOUNT: return "umount";
    case ML_EV_OPEN_TREE: return "open_tree";
    case ML_EV_MOVE_MOUNT: return "move_mount";
    case ML_EV_FSMOUNT: return "fsmount";
    case ML_EV_MOUNT_SETATTR: return "mount_setattr";
    case ML_EV_BUSY: return "busy_raw";
    case ML_EV_PROPAGATE_MOUNT: return "propagate_mount";
    case ML_EV_PROPAGATE_UMOUNT: return "propagate_umount";
  }
  return "unknown";
}

std::string_view busy_source_name(uint32_t source) {
  switch (source) {
    case ML_BUSY_RBD_REMOVE: return "rbd_remove";
    case ML_BUSY_UMOUNT: return "umount";
    case ML_BUSY_OPEN_EXCL: return "open_excl";
    case ML_BUSY_DETACH: return "detach";
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

nlohmann::json raw_event_json(const ml_event& e) {
  nlohmann::json j = {{"event", event_kind_name(e.kind)},
                      {"ts_ns", e.ts_ns},
                      {"pid", e.pid},
                      {"tid", e.tid},
                      {"ppid", e.ppid},
                      {"comm", c_string(e.comm, sizeof(e.comm))},
                      {"mntns", e.mntns},
                      {"cgroup_id", e.cgroup_id},
                      {"ret", e.ret},
                      {"tier", e.tier == ML_TIER_KERNEL ? "kernel" : "tracepoint"}};
  std::string p1 = c_string(e.path1, sizeof(e.path1));
  std::string p2 = c_string(e.path2, sizeof(e.path2));
  switch (e.kind) {
    case ML_EV_MNTNS:
    case ML_EV_SETNS:
      j["old_mntns"] = e.old_mntns;
      j["flags"] = e.flags;
      break;
    case ML_EV_MOUNT:
      j["source"] = p1;
      j["target"] = p2;
      j["fstype"] = c_string(e.fstype, sizeof(e.fstype));
      j["flags"] = mount_flags_text(e.flags);
      break;
    case ML_EV_UMOUNT:
      j["target"] = p1;
      j["flags"] = e.flags;
      break;
    case ML_EV_OPEN_TREE:
      j["dfd"] = e.dfd1;
      j["path"] = p1;
      j["flags"] = e.flags;
      break;
    case ML_EV_MOVE_MOUNT:
      j["from_dfd"] = e.dfd1;
      j["from"] = p1;
      j["to_dfd"] = e.dfd2;
      j["to"] = p2;
      j["flags"] = e.flags;
      break;
    case ML_EV_FSMOUNT:
      j["fs_fd"] = e.dfd1;
      j["flags"] = e.flags;
      j["attr_flags"] = e.arg;
      break;
    case ML_EV_MOUNT_SETATTR:
      j["dfd"] = e.dfd1;
      j["path"] = p1;
      j["flags"] = e.flags;
      j["attr_set"] = e.arg;
      j["propagation"] = mount_flags_text(e.arg2);
      break;
    case ML_EV_PROPAGATE_MOUNT:
    case ML_EV_PROPAGATE_UMOUNT:
      j["mountpoint_name"] = p2;
      j["dev"] = fmt::format("{}:{}", e.arg2 >> 20, e.arg2 & 0xfffff);
      break;
    case ML_EV_BUSY:
      j["source"] = busy_source_name(e.busy_source);
      j["path"] = p1;
      if (!p2.empty()) j["file"] = p2;
      j["flags"] = e.flags;
      j["arg"] = e.arg;
      j["arg2"] = e.arg2;
      break;
  }
  return j;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "sources/statmount_reader.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "sources/mount_api.h"
#include "sources/procfs.h"
#include "util/errno_text.h"

namespace mountleak {

namespace api = mount_api;

namespace {

// What a MountEntry is made of. Subtype and source are asked for but may be
// absent from a reply (the kernel leaves an empty string out).
constexpr uint64_t kNeeded = api::kSbBasic | api::kMntBasic | api::kPropagateFrom | api::kMntRoot |
                             api::kMntPoint | api::kFsType | api::kFsSubtype | api::kSbSource;
// What every reply must carry for the entry to be whole.
constexpr uint64_t kAlwaysFilled = api::kSbBasic | api::kMntBasic | api::kMntRoot | api::kMntPoint | api::kFsType;

// A reply's strings: mount root and point up to PATH_MAX each, a source
// (mount(2) copies at most a page of it), type and subtype. Doubling from
// the first size, a reply that needs more than this is refused: the text
// path reads that namespace instead.
constexpr size_t kFirstReplyBytes = sizeof(api::Statmount) + 4096;
constexpr size_t kMaxReplyBytes = sizeof(api::Statmount) + (64u << 10);

// Ids fetched per listmount call.
constexpr size_t kIdsPerCall = 1024;

long sys_listmount(const api::MntIdReq& req, uint64_t* ids, size_t n) {
  return ::syscall(api::kSysListmount, &req, ids, n, 0);
}

long sys_statmount(const api::MntIdReq& req, void* buf, size_t size) {
  return ::syscall(api::kSysStatmount, &req, buf, size, 0);
}

api::MntIdReq request(uint64_t mnt_ns_id, uint64_t mnt_id, uint64_t param) {
  api::MntIdReq req{};
  req.size = api::kMntIdReqSizeVer1;
  req.mnt_id = mnt_id;
  req.param = param;
  req.mnt_ns_id = mnt_ns_id;
  return req;
}

// The string at `offset` in str[], if it lies whole inside the reply.
Result<std::string_view> reply_string(const char* str, size_t str_len, uint32_t offset, const char* field) {
  if (offset >= str_len) return Error{std::string("statmount reply: ") + field + " outside the reply", EPROTO};
  const void* nul = std::memchr(str + offset, '\0', str_len - offset);
  if (!nul) return Error{std::string("statmount reply: ") + field + " has no end", EPROTO};
  return std::string_view(str + offset, static_cast<const char*>(nul) - (str + offset));
}

std::string missing_fields(uint64_t have) {
  struct Named { uint64_t bit; const char* name; };
  static constexpr Named kNames[] = {
      {api::kSbBasic, "STATMOUNT_SB_BASIC"},   {api::kMntBasic, "STATMOUNT_MNT_BASIC"},
      {api::kPropagateFrom, "STATMOUNT_PROPAGATE_FROM"}, {api::kMntRoot, "STATMOUNT_MNT_ROOT"},
      {api::kMntPoint, "STATMOUNT_MNT_POINT"}, {api::kFsType, "STATMOUNT_FS_TYPE"},
      {api::kFsSubtype, "STATMOUNT_FS_SUBTYPE"}, {api::kSbSource, "STATMOUNT_SB_SOURCE"}};
  std::string out;
  for (const auto& n : kNames)
    if ((kNeeded & n.bit) && !(have & n.bit)) out += (out.empty() ? "" : ", ") + std::string(n.name);
  return out;
}

}  // namespace

std::string_view mount_table_method_name(MountTableMethod method) {
  switch (method) {
    case MountTableMethod::kAuto: return "auto";
    case MountTableMethod::kMountinfo: return "mountinfo";
    case MountTableMethod::kStatmount: return "statmount";
  }
  return "auto";
}

uint64_t statmount_fields_needed() { return kNeeded; }

MountTableChoice choose_mount_table(MountTableMethod requested, const StatmountProbe& probe) {
  MountTableChoice c;
  c.method = "mountinfo";
  if (requested == MountTableMethod::kMountinfo) {
    c.reason = "--mount-table mountinfo";
    return c;
  }
  auto refused_call = [](const char* call, int err) {
    if (err == ENOSYS) return std::string(call) + " is not in this kernel (ENOSYS)";
    if (err == EPERM) return std::string(call) + " is refused (EPERM: a seccomp filter or an LSM)";
    return std::string(call) + " failed (" + errno_name(err) + ")";
  };
  if (probe.ns_id_errno != 0) {
    c.reason = "NS_GET_MNTNS_ID " + std::string(probe.ns_id_errno == ENOTTY ? "is not in this kernel (ENOTTY)"
                                                                            : "failed (" + errno_name(probe.ns_id_errno) + ")") +
               ": another namespace cannot be named to listmount";
  } else if (probe.listmount_errno != 0) {
    c.reason = refused_call("listmount(2)", probe.listmount_errno);
    // A kernel that has listmount but not mnt_id_req's mnt_ns_id (6.8-6.10)
    // refuses the larger request.
    if (probe.listmount_errno == E2BIG || probe.listmount_errno == EINVAL)
      c.reason += ": it cannot list another mount namespace";
  } else if (probe.statmount_errno != 0) {
    c.reason = refused_call("statmount(2)", probe.statmount_errno);
  } else if (!(probe.returned_mask & api::kSupportedMask)) {
    c.reason = "statmount(2) does not say which fields it supports (no STATMOUNT_SUPPORTED_MASK), so a "
               "missing source or fs subtype cannot be told from an empty one";
  } else if ((probe.supported_mask & kNeeded) != kNeeded) {
    c.reason = "statmount(2) lacks " + missing_fields(probe.supported_mask);
  } else {
    c.statmount = true;
    c.method = "statmount";
    c.reason.clear();
    return c;
  }
  if (requested == MountTableMethod::kStatmount) c.refused = true;
  return c;
}

MountTableChoice choose_mount_table_on(const std::string& proc, MountTableMethod requested) {
  if (requested == MountTableMethod::kMountinfo) return choose_mount_table(requested, {});
  constexpr long kProcSuperMagic = 0x9fa0;  // PROC_SUPER_MAGIC, linux/magic.h
  struct statfs fs {};
  if (::statfs(proc.c_str(), &fs) != 0 || fs.f_type != kProcSuperMagic) {
    MountTableChoice c;
    c.method = "mountinfo";
    c.reason = proc + " is not a procfs";
    c.refused = requested == MountTableMethod::kStatmount;
    return c;
  }
  return choose_mount_table(requested, probe_statmount(proc));
}

Result<uint64_t> mount_namespace_id(int ns_fd) {
  uint64_t id = 0;
  if (::ioctl(ns_fd, api::kNsGetMntnsId, &id) == 0) return id;
  if (errno != ENOTTY && errno != EINVAL) return Error::from_errno("NS_GET_MNTNS_ID");
  if (::ioctl(ns_fd, api::kNsGetMntnsIdOld, &id) == 0) return id;
  return Error::from_errno("NS_GET_MNTNS_ID");
}

StatmountProbe probe_statmount(const std::string& proc) {
  StatmountProbe p;
  int fd = ::open((proc + "/self/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fd = ::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    p.ns_id_errno = errno;
    return p;
  }
  auto id = mount_namespace_id(fd);
  ::close(fd);
  if (!id) {
    p.ns_id_errno = id.error().errno_value;
    return p;
  }
  uint64_t first = 0;
  const api::MntIdReq list = request(*id, api::kListmountRoot, 0);
  const long n = sys_listmount(list, &first, 1);
  if (n < 0) {
    p.listmount_errno = errno;
    return p;
  }
  if (n == 0) {
    p.listmount_errno = ENOENT;
    return p;
  }
  std::vector<uint64_t> buf(kFirstReplyBytes / sizeof(uint64_t));
  const api::MntIdReq stat = request(*id, first, kNeeded | api::kSupportedMask);
  if (sys_statmount(stat, buf.data(), buf.size() * sizeof(uint64_t)) < 0) {
    p.statmount_errno = errno;
    return p;
  }
  api::Statmount sm;
  std::memcpy(&sm, buf.data(), sizeof sm);
  p.returned_mask = sm.mask;
  p.supported_mask = sm.supported_mask;
  return p;
}

Result<MountEntry> entry_from_statmount(const void* reply, size_t len) {
  if (len < sizeof(api::Statmount)) return Error{"statmount reply shorter than struct statmount", EPROTO};
  api::Statmount sm;
  std::memcpy(&sm, reply, sizeof sm);
  if ((sm.mask & kAlwaysFilled) != kAlwaysFilled)
    return Error{"statmount reply lacks " + missing_fields(sm.mask | (kNeeded & ~kAlwaysFilled)), EPROTO};
  // size is what the kernel wrote; never trust it past what we hold.
  const size_t total = std::min<size_t>(len, std::max<size_t>(sm.size, sizeof sm));
  const char* str = static_cast<const char*>(reply) + sizeof sm;
  const size_t str_len = total - sizeof sm;

  MountEntry e;
  e.mount_id = sm.mnt_id_old;
  e.parent_id = sm.mnt_parent_id_old;
  e.dev = DevId{sm.sb_dev_major, sm.sb_dev_minor};
  auto root = reply_string(str, str_len, sm.mnt_root, "mnt_root");
  if (!root) return root.error();
  auto point = reply_string(str, str_len, sm.mnt_point, "mnt_point");
  if (!point) return point.error();
  auto type = reply_string(str, str_len, sm.fs_type, "fs_type");
  if (!type) return type.error();
  e.root = *root;
  e.mount_point = *point;
  e.fs_type = *type;
  // mountinfo prints "type.subtype" (fuse.sshfs).
  if (sm.mask & api::kFsSubtype) {
    auto sub = reply_string(str, str_len, sm.fs_subtype, "fs_subtype");
    if (!sub) return sub.error();
    if (!sub->empty()) e.fs_type.append(".").append(*sub);
  }
  // mountinfo prints "none" for a mount with no source; statmount leaves
  // the field out.
  if (sm.mask & api::kSbSource) {
    auto src = reply_string(str, str_len, sm.sb_source, "sb_source");
    if (!src) return src.error();
    e.source = *src;
  } else {
    e.source = "none";
  }
  // The peer group is set only on shared mounts and the master only on
  // slaves, as mountinfo's shared:N and master:N.
  if (sm.mnt_propagation & api::kMsShared) e.shared_group = static_cast<uint32_t>(sm.mnt_peer_group);
  if (sm.mnt_propagation & api::kMsSlave) e.master_group = static_cast<uint32_t>(sm.mnt_master);
  e.unbindable = (sm.mnt_propagation & api::kMsUnbindable) != 0;
  // mountinfo prints propagate_from only when it differs from master. For
  // another namespace the kernel reckons it from the caller's root, so it may
  // differ from a member's mountinfo; no finding reads it.
  if ((sm.mask & api::kPropagateFrom) && (sm.mnt_propagation & api::kMsSlave) && sm.propagate_from != sm.mnt_master)
    e.propagate_from = static_cast<uint32_t>(sm.propagate_from);
  return e;
}

Result<StatmountTable> read_mount_table_statmount(uint64_t mnt_ns_id, const StatmountBudget& budget) {
  const size_t max_bytes = budget.max_bytes ? budget.max_bytes : kMaxProcFileBytes;
  const std::string what = "listmount/statmount of mount namespace id " + std::to_string(mnt_ns_id);
  StatmountTable out;
  size_t spent = 0;

  std::vector<uint64_t> ids;
  uint64_t last = 0;
  for (;;) {
    const size_t at = ids.size();
    // Never more ids than the budget holds, so a small budget refuses only
    // a table that really exceeds it.
    const size_t room = max_bytes / sizeof(uint64_t) - std::min(at, max_bytes / sizeof(uint64_t));
    if (room == 0) return Error{what + ": more mounts than " + std::to_string(max_bytes) + " bytes hold", EFBIG};
    const size_t batch = std::min(kIdsPerCall, room);
    ids.resize(at + batch);
    const api::MntIdReq req = request(mnt_ns_id, api::kListmountRoot, last);
    const long n = sys_listmount(req, ids.data() + at, batch);
    ++out.calls;
    if (n < 0) return Error::from_errno(what + ": listmount");
    ids.resize(at + static_cast<size_t>(n));
    if (static_cast<size_t>(n) < batch) break;
    last = ids.back();
  }
  spent = ids.size() * sizeof(uint64_t);

  std::vector<uint64_t> buf(kFirstReplyBytes / sizeof(uint64_t));  // aligned for struct statmount
  out.table.mounts.reserve(ids.size());
  for (const uint64_t id : ids) {
    long r = -1;
    for (;;) {
      const api::MntIdReq req = request(mnt_ns_id, id, kNeeded);
      r = sys_statmount(req, buf.data(), buf.size() * sizeof(uint64_t));
      ++out.calls;
      if (r == 0 || errno != EOVERFLOW) break;
      if (buf.size() * sizeof(uint64_t) >= kMaxReplyBytes)
        return Error{what + ": mount " + std::to_string(id) + " needs a reply longer than " +
                         std::to_string(kMaxReplyBytes) + " bytes",
                     EOVERFLOW};
      buf.resize(std::min(buf.size() * 2, kMaxReplyBytes / sizeof(uint64_t)));
    }
    if (r != 0) {
      if (errno == ENOENT) continue;  // unmounted since it was listed
      return Error::from_errno(what + ": statmount of mount " + std::to_string(id));
    }
    auto entry = entry_from_statmount(buf.data(), buf.size() * sizeof(uint64_t));
    if (!entry) return Error{what + ": mount " + std::to_string(id) + ": " + entry.error().message, EPROTO};
    // A mount outside the namespace's root has no path from it (mountinfo
    // leaves it out too).
    if (entry->mount_point.empty()) continue;
    spent += sizeof(MountEntry) + entry->root.size() + entry->mount_point.size() + entry->fs_type.size() +
             entry->source.size();
    if (spent > max_bytes)
      return Error{what + ": table larger than " + std::to_string(max_bytes) + " bytes", EFBIG};
    out.table.mounts.push_back(std::move(*entry));
  }
  out.table.lines = out.table.mounts.size();
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "sources/event_decode.h"

#include <linux/types.h>

#include <cstring>
#include <utility>

#include "mountleak/events.h"

namespace mountleak {

namespace {

// The BPF side writes NUL-terminated strings, but a field is trusted only
// up to its own end.
template <size_t N>
std::string field(const char (&s)[N]) {
  return std::string(s, strnlen(s, N));
}

std::optional<EventKind> kind_of(uint32_t kind) {
  switch (kind) {
    case ML_EV_MNTNS: return EventKind::kMntns;
    case ML_EV_SETNS: return EventKind::kSetns;
    case ML_EV_MOUNT: return EventKind::kMount;
    case ML_EV_UMOUNT: return EventKind::kUmount;
    case ML_EV_OPEN_TREE: return EventKind::kOpenTree;
    case ML_EV_MOVE_MOUNT: return EventKind::kMoveMount;
    case ML_EV_FSMOUNT: return EventKind::kFsmount;
    case ML_EV_MOUNT_SETATTR: return EventKind::kMountSetattr;
    case ML_EV_BUSY: return EventKind::kBusy;
    case ML_EV_PROPAGATE_MOUNT: return EventKind::kPropagateMount;
    case ML_EV_PROPAGATE_UMOUNT: return EventKind::kPropagateUmount;
  }
  return std::nullopt;
}

BusySource busy_source_of(uint32_t source) {
  switch (source) {
    case ML_BUSY_RBD_REMOVE: return BusySource::kRbdRemove;
    case ML_BUSY_UMOUNT: return BusySource::kUmount;
    case ML_BUSY_OPEN_EXCL: return BusySource::kOpenExcl;
    case ML_BUSY_DETACH: return BusySource::kDetach;
    case ML_BUSY_DM_REMOVE: return BusySource::kDmRemove;
  }
  return BusySource::kNone;
}

// A kind's record, copied out of the ring buffer's bytes (which are only
// 8-byte aligned), when both the header and the ring say it is exactly that
// kind's size.
template <typename Record>
std::optional<Record> record(const ml_event_header& h, const void* data, size_t size) {
  if (h.size != sizeof(Record) || size != sizeof(Record)) return std::nullopt;
  Record r;
  std::memcpy(&r, data, sizeof r);
  return r;
}

std::optional<EventPayload> payload_of(EventKind kind, const ml_event_header& h, const void* data, size_t size) {
  switch (kind) {
    case EventKind::kMntns:
    case EventKind::kSetns:
      if (auto e = record<ml_namespace_event>(h, data, size)) return NamespaceSwitch{e->old_mntns, e->flags};
      break;
    case EventKind::kMount:
      if (auto e = record<ml_mount_event>(h, data, size))
        return MountCall{field(e->source), field(e->target), field(e->fstype), e->flags};
      break;
    case EventKind::kUmount:
      if (auto e = record<ml_umount_event>(h, data, size)) return UmountCall{field(e->target), e->flags};
      break;
    case EventKind::kOpenTree:
      if (auto e = record<ml_open_tree_event>(h, data, size)) return OpenTreeCall{e->dfd, field(e->path), e->flags};
      break;
    case EventKind::kMoveMount:
      if (auto e = record<ml_move_mount_event>(h, data, size))
        return MoveMountCall{e->from_dfd, field(e->from), e->to_dfd, field(e->to), e->flags};
      break;
    case EventKind::kFsmount:
      if (auto e = record<ml_fsmount_event>(h, data, size)) return FsmountCall{e->fs_fd, e->flags, e->attr_flags};
      break;
    case EventKind::kMountSetattr:
      if (auto e = record<ml_mount_setattr_event>(h, data, size))
        return MountSetattrCall{e->dfd, field(e->path), e->flags, e->attr_set, e->propagation};
      break;
    case EventKind::kPropagateMount:
    case EventKind::kPropagateUmount:
      if (auto e = record<ml_propagate_event>(h, data, size)) return PropagatedChange{e->dev, field(e->mountpoint_name)};
      break;
    case EventKind::kBusy:
      if (auto e = record<ml_busy_event>(h, data, size))
        return BusyFailure{busy_source_of(e->source), field(e->path), field(e->file), e->dfd, e->flags, e->arg, e->dev};
      break;
    case EventKind::kMountTableChanged:  // made in userspace, never in the ring buffer
      break;
  }
  return std::nullopt;
}

}  // namespace

std::optional<KernelEvent> decode_event(const void* data, size_t size) {
  if (size < sizeof(ml_event_header)) return std::nullopt;
  ml_event_header h;
  std::memcpy(&h, data, sizeof h);  // the ring buffer only promises 8-byte alignment
  const auto kind = kind_of(h.kind);
  if (!kind) return std::nullopt;
  auto payload = payload_of(*kind, h, data, size);
  if (!payload) return std::nullopt;
  KernelEvent out;
  out.kind = *kind;
  out.ts_ns = h.ts_ns;
  out.cgroup_id = h.cgroup_id;
  out.pid = h.pid;
  out.tid = h.tid;
  out.ppid = h.ppid;
  out.mntns = h.mntns;
  out.ret = h.ret;
  out.tier = h.tier == ML_TIER_KERNEL ? EventTier::kKernel : EventTier::kTracepoint;
  out.comm = field(h.comm);
  out.payload = std::move(*payload);
  return out;
}

}  // namespace mountleak

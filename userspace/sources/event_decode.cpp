// SPDX-License-Identifier: Apache-2.0
#include "sources/event_decode.h"

#include <linux/types.h>

#include <cstring>

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
  }
  return BusySource::kNone;
}

EventPayload payload_of(EventKind kind, const ml_event& e) {
  switch (kind) {
    case EventKind::kMntns:
    case EventKind::kSetns:
      return NamespaceSwitch{e.old_mntns, e.flags};
    case EventKind::kMount:
      return MountCall{field(e.path1), field(e.path2), field(e.fstype), e.flags};
    case EventKind::kUmount:
      return UmountCall{field(e.path1), e.flags};
    case EventKind::kOpenTree:
      return OpenTreeCall{e.dfd1, field(e.path1), e.flags};
    case EventKind::kMoveMount:
      return MoveMountCall{e.dfd1, field(e.path1), e.dfd2, field(e.path2), e.flags};
    case EventKind::kFsmount:
      return FsmountCall{e.dfd1, e.flags, e.arg};
    case EventKind::kMountSetattr:
      return MountSetattrCall{e.dfd1, field(e.path1), e.flags, e.arg, e.arg2};
    case EventKind::kPropagateMount:
    case EventKind::kPropagateUmount:
      return PropagatedChange{e.arg2, field(e.path2)};
    case EventKind::kBusy:
      return BusyFailure{busy_source_of(e.busy_source), field(e.path1), field(e.path2), e.dfd1, e.flags, e.arg,
                         e.arg2};
  }
  return NamespaceSwitch{};
}

}  // namespace

std::optional<KernelEvent> decode_event(const void* data, size_t size) {
  if (size < sizeof(ml_event)) return std::nullopt;
  ml_event e;
  std::memcpy(&e, data, sizeof e);  // the ring buffer only promises 8-byte alignment
  const auto kind = kind_of(e.kind);
  if (!kind) return std::nullopt;
  KernelEvent out;
  out.kind = *kind;
  out.ts_ns = e.ts_ns;
  out.cgroup_id = e.cgroup_id;
  out.pid = e.pid;
  out.tid = e.tid;
  out.ppid = e.ppid;
  out.mntns = e.mntns;
  out.ret = e.ret;
  out.tier = e.tier == ML_TIER_KERNEL ? EventTier::kKernel : EventTier::kTracepoint;
  out.comm = field(e.comm);
  out.payload = payload_of(*kind, e);
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// A kernel event as values: what a BPF program saw, decoded from the ring
// buffer's bytes in one place (sources/event_decode.h) and consumed by the
// collector and the outputs without knowing the wire layout. Each kind has
// its own payload, so no field means one thing here and another there.

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace mountleak {

enum class EventKind {
  kMntns,            // unshare/clone/clone3 created a mount namespace
  kSetns,            // setns moved a task into another mount namespace
  kMount,            // mount(2): new mount, bind, move, remount, propagation
  kUmount,           // umount2(2)
  kOpenTree,         // open_tree(2), the new mount API's bind
  kMoveMount,        // move_mount(2)
  kFsmount,          // fsmount(2)
  kMountSetattr,     // mount_setattr(2), incl. propagation
  kBusy,             // a hook saw -EBUSY
  kPropagateMount,   // kernel tier: a copy propagated into `mntns`
  kPropagateUmount,  // kernel tier: an unmount propagated out of `mntns`
  // Passive tier: namespace `mntns`'s table is to be read again (the kernel
  // said it changed, or it could not be watched); from userspace, not BPF.
  kMountTableChanged,
};

// Which hook saw the -EBUSY.
enum class BusySource { kNone, kRbdRemove, kUmount, kOpenExcl, kDetach, kDmRemove };

// Which tier's hook produced the event; the event log records it.
enum class EventTier { kTracepoint, kKernel, kPassive };
std::string_view event_tier_name(EventTier tier);

// MNTNS, SETNS.
struct NamespaceSwitch {
  uint32_t old_mntns = 0;  // the namespace before
  uint64_t flags = 0;      // clone/unshare flags, or setns's nstype
};

struct MountCall {
  std::string source;
  std::string target;
  std::string fstype;
  uint64_t flags = 0;  // MS_*
};

struct UmountCall {
  std::string target;
  uint64_t flags = 0;  // MNT_*, UMOUNT_*
};

struct OpenTreeCall {
  int32_t dfd = 0;
  std::string path;
  uint64_t flags = 0;
};

struct MoveMountCall {
  int32_t from_dfd = 0;
  std::string from;
  int32_t to_dfd = 0;
  std::string to;
  uint64_t flags = 0;
};

struct FsmountCall {
  int32_t fs_fd = 0;
  uint64_t flags = 0;
  uint64_t attr_flags = 0;
};

struct MountSetattrCall {
  int32_t dfd = 0;
  std::string path;
  uint64_t flags = 0;
  uint64_t attr_set = 0;
  uint64_t propagation = 0;  // MS_SHARED, MS_SLAVE, MS_PRIVATE or MS_UNBINDABLE
};

// PROPAGATE_MOUNT, PROPAGATE_UMOUNT.
struct PropagatedChange {
  uint64_t dev = 0;             // kernel dev_t (major << 20 | minor)
  std::string mountpoint_name;  // the last component only
};

// MOUNT_TABLE_CHANGED: why the namespace is read again.
enum class TableChangeSeen {
  kPoll,   // the kernel woke the watch on its mountinfo (POLLPRI)
  kWatch,  // a watch just started: what changed before it is unseen
  kTimer,  // no task of it can be watched: read every few seconds instead
};
struct MountTableChanged {
  TableChangeSeen seen = TableChangeSeen::kPoll;
};
std::string_view table_change_seen_name(TableChangeSeen seen);

struct BusyFailure {
  BusySource source = BusySource::kNone;
  // The path or buffer the failing call was given: a umount target, an
  // opened device node, the text written to rbd's remove file, a dm
  // device's name (dm remove: "dm-0" from the kernel tier, the name the
  // caller gave from the tracepoint tier).
  std::string path;
  std::string file;     // the file written to, or the device opened, or the dm uuid given (tracepoint tier)
  int32_t dfd = 0;      // the directory `path` is relative to, or the ioctl's fd
  uint64_t flags = 0;   // open flags
  uint64_t arg = 0;     // detach, dm remove: the ioctl command
  uint64_t dev = 0;     // kernel dev_t when the hook knew it, else 0
};

using EventPayload = std::variant<NamespaceSwitch, MountCall, UmountCall, OpenTreeCall, MoveMountCall,
                                  FsmountCall, MountSetattrCall, PropagatedChange, BusyFailure, MountTableChanged>;

struct KernelEvent {
  EventKind kind = EventKind::kMount;
  uint64_t ts_ns = 0;      // CLOCK_MONOTONIC at the hook
  uint64_t cgroup_id = 0;  // cgroup v2 id of the task
  uint32_t pid = 0;        // tgid
  uint32_t tid = 0;
  uint32_t ppid = 0;
  uint32_t mntns = 0;      // the task's mount namespace after the call
  int32_t ret = 0;         // the call's return value
  EventTier tier = EventTier::kTracepoint;
  std::string comm;
  EventPayload payload;
};

}  // namespace mountleak

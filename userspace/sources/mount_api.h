// SPDX-License-Identifier: Apache-2.0
#pragma once

// The few pieces of the kernel's listmount(2)/statmount(2) interface that
// mountleak uses, defined here because Debian 12's linux-libc-dev (6.1) has
// none of them. Layouts are the kernel's uapi, include/uapi/linux/mount.h as
// of 6.15 (struct statmount grew into its spare space: mnt_opts 6.10,
// mnt_ns_id 6.11, fs_subtype and sb_source 6.13, supported_mask 6.15; its size
// never changed) and include/uapi/linux/nsfs.h for NS_GET_MNTNS_ID (6.10 as
// _IO, _IOR with a __u64 since 6.11).
//
// Nothing here says whether the running kernel has any of it: that is
// learned by calling (sources/statmount_reader.h).

#include <sys/ioctl.h>

#include <cstddef>
#include <cstdint>

namespace mountleak::mount_api {

// System call numbers. x86_64 and aarch64 (asm-generic/unistd.h) share them:
// both were added after the tables were unified (6.8).
#if defined(__x86_64__) || defined(__aarch64__)
inline constexpr long kSysStatmount = 457;
inline constexpr long kSysListmount = 458;
#else
#error "statmount/listmount syscall numbers: add this architecture's (arch/*/syscall tables)"
#endif

// struct mnt_id_req: VER0 (24 bytes, 6.8) addresses the caller's namespace
// only; VER1 (32 bytes, 6.11) adds mnt_ns_id, any namespace the caller has
// CAP_SYS_ADMIN over.
struct MntIdReq {
  uint32_t size;
  uint32_t spare;  // mnt_ns_fd in 6.18; unused here
  uint64_t mnt_id;
  uint64_t param;  // statmount: the STATMOUNT_* mask; listmount: last id seen
  uint64_t mnt_ns_id;
};
inline constexpr uint32_t kMntIdReqSizeVer1 = 32;
static_assert(sizeof(MntIdReq) == kMntIdReqSizeVer1);

inline constexpr uint64_t kListmountRoot = ~uint64_t{0};  // LSMT_ROOT

// STATMOUNT_* request/result bits.
inline constexpr uint64_t kSbBasic = 0x1;          // sb_dev_major/minor, sb_magic, sb_flags
inline constexpr uint64_t kMntBasic = 0x2;         // mnt ids, attr, propagation, peer group, master
inline constexpr uint64_t kPropagateFrom = 0x4;
inline constexpr uint64_t kMntRoot = 0x8;          // [str]
inline constexpr uint64_t kMntPoint = 0x10;        // [str]
inline constexpr uint64_t kFsType = 0x20;          // [str]
inline constexpr uint64_t kFsSubtype = 0x100;      // [str] 6.13
inline constexpr uint64_t kSbSource = 0x200;       // [str] 6.13
inline constexpr uint64_t kSupportedMask = 0x1000;  // 6.15

// Propagation bits of statmount's mnt_propagation (the MS_* mount flags).
inline constexpr uint64_t kMsUnbindable = 1u << 17;
inline constexpr uint64_t kMsPrivate = 1u << 18;
inline constexpr uint64_t kMsSlave = 1u << 19;
inline constexpr uint64_t kMsShared = 1u << 20;

// struct statmount. A [str] field is an offset into str[] (which begins
// right after this fixed part), valid only when its bit is in mask.
struct Statmount {
  uint32_t size;  // bytes written, fixed part and strings
  uint32_t mnt_opts;
  uint64_t mask;
  uint32_t sb_dev_major;
  uint32_t sb_dev_minor;
  uint64_t sb_magic;
  uint32_t sb_flags;
  uint32_t fs_type;
  uint64_t mnt_id;          // 64-bit id, never reused
  uint64_t mnt_parent_id;
  uint32_t mnt_id_old;      // the id mountinfo prints
  uint32_t mnt_parent_id_old;
  uint64_t mnt_attr;
  uint64_t mnt_propagation;
  uint64_t mnt_peer_group;
  uint64_t mnt_master;
  uint64_t propagate_from;
  uint32_t mnt_root;
  uint32_t mnt_point;
  uint64_t mnt_ns_id;
  uint32_t fs_subtype;
  uint32_t sb_source;
  uint32_t opt_num;
  uint32_t opt_array;
  uint32_t opt_sec_num;
  uint32_t opt_sec_array;
  uint64_t supported_mask;
  uint32_t mnt_uidmap_num;
  uint32_t mnt_uidmap;
  uint32_t mnt_gidmap_num;
  uint32_t mnt_gidmap;
  uint64_t spare2[43];
  // char str[] follows.
};
static_assert(sizeof(Statmount) == 512, "struct statmount is 512 bytes before str[]");
static_assert(offsetof(Statmount, mnt_ns_id) == 112);
static_assert(offsetof(Statmount, supported_mask) == 144);

// nsfs ioctls giving a mount namespace's 64-bit id (the one mnt_id_req takes).
inline constexpr unsigned long kNsGetMntnsId = _IOR(0xb7, 0x5, uint64_t);
inline constexpr unsigned long kNsGetMntnsIdOld = _IO(0xb7, 0x5);  // 6.10's spelling

}  // namespace mountleak::mount_api

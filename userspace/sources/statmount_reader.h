// SPDX-License-Identifier: Apache-2.0
#pragma once

// A mount namespace's table through listmount(2) and statmount(2) instead of
// /proc/PID/mountinfo text: no fork, no escaping, no parsing, and no path of
// a container's is ever resolved (the namespace is named by its 64-bit id,
// taken from its nsfs file with NS_GET_MNTNS_ID).
//
// Whether the kernel can is learned by calling it, once per run
// (probe_statmount), never from its version: ENOSYS (too old) and EPERM
// (a seccomp filter) mean no, and the fields mountleak needs must be among
// those statmount says it supports (STATMOUNT_SUPPORTED_MASK, 6.15; before
// it an empty field and an unknown one look the same, so such a kernel is
// not used). Every MountEntry it yields equals the one mountinfo gives for
// the same mount (see entry_from_statmount), so the findings do not depend
// on the method.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "model/mountinfo.h"
#include "util/result.h"

namespace mountleak {

// --mount-table: what the operator asked for.
enum class MountTableMethod { kAuto, kMountinfo, kStatmount };
std::string_view mount_table_method_name(MountTableMethod method);

// What calling the kernel showed: errno 0 means the call worked.
struct StatmountProbe {
  int ns_id_errno = 0;      // NS_GET_MNTNS_ID on our own namespace file
  int listmount_errno = 0;  // listmount of our namespace, addressed by id
  int statmount_errno = 0;  // statmount of its first mount
  uint64_t returned_mask = 0;
  uint64_t supported_mask = 0;  // meaningful when returned_mask has it
};

// The decision, as a pure function of the probe (unit-tested).
struct MountTableChoice {
  bool statmount = false;  // use listmount/statmount
  std::string method;      // "statmount" or "mountinfo"
  std::string reason;      // why mountinfo, when statmount was not chosen
  bool refused = false;    // statmount was demanded and cannot be had
};
MountTableChoice choose_mount_table(MountTableMethod requested, const StatmountProbe& probe);

// The choice for the node behind `proc`: statmount only when it is a real
// procfs (a directory tree standing in for one, as in tests, describes
// namespaces the kernel does not know), and the kernel passes the probe.
MountTableChoice choose_mount_table_on(const std::string& proc, MountTableMethod requested);

// Calls the kernel on our own namespace (proc: where /proc is; its
// self/ns/mnt names the namespace).
StatmountProbe probe_statmount(const std::string& proc);

// The STATMOUNT_* fields a MountEntry is made of.
uint64_t statmount_fields_needed();

// One statmount reply (the fixed part and its strings, `len` bytes as
// returned) as the MountEntry mountinfo would give: old 32-bit mount ids,
// fs type "type.subtype", no source as "none". Strings are taken raw
// (statmount does not escape); an offset outside the reply or a string
// without its NUL is an error, as is a reply lacking a needed field.
Result<MountEntry> entry_from_statmount(const void* reply, size_t len);

// The 64-bit id of the mount namespace an nsfs descriptor refers to.
Result<uint64_t> mount_namespace_id(int ns_fd);

// Bounds: a namespace a container filled with mounts must not take our
// memory or time with it. Past max_bytes (ids, entries and their strings
// counted) the table is refused with EFBIG, as a mountinfo text past the
// same size is.
struct StatmountBudget {
  size_t max_bytes = 0;  // 0: kMaxProcFileBytes
};

// The whole table of the namespace with id `mnt_ns_id`, in the kernel's
// order (that of mountinfo). Mounts that vanish between listing and
// stating are left out, as a later mountinfo read would leave them out.
struct StatmountTable {
  MountTable table;
  size_t calls = 0;  // listmount + statmount calls made
};
Result<StatmountTable> read_mount_table_statmount(uint64_t mnt_ns_id, const StatmountBudget& budget = {});

}  // namespace mountleak

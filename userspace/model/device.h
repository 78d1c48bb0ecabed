// SPDX-License-Identifier: Apache-2.0
#pragma once

// Block devices as findings name them: the device by number with the names
// the node gives it, what an rbd mapping and its Ceph cluster say about
// it, and a process that holds it open.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/dev_id.h"

namespace mountleak {

// A Ceph RBD mapping as the kernel's rbd driver shows it in sysfs.
struct RbdInfo {
  int id = -1;
  std::string pool, image, rados_namespace, client_id, snap;  // "" when absent (no snapshot: "")
};

// A device-mapper device as sysfs shows it (/sys/block/dm-N/dm, slaves).
struct DmInfo {
  std::string name;  // "vg-data", as `dmsetup ls` names it; "" when sysfs did not say
  std::string uuid;  // "" when it has none
  // The block devices its table sits on ("loop0"), sorted; a table may
  // have many, so at most kMaxDmSlaves are kept and `more_slaves` says so.
  std::vector<std::string> slaves;
  bool more_slaves = false;
};
inline constexpr size_t kMaxDmSlaves = 64;

struct DeviceRef {
  DevId dev;
  std::string kernel_name;  // "rbd4", "loop7"; "" when sysfs does not know it
  std::string path;         // "/dev/rbd4" as the operator knows it
  std::optional<RbdInfo> rbd;
  // For a loop device, the file behind it: what names it, as pool and
  // image name an rbd device. Empty when detached or not a loop device.
  std::string loop_backing_file;
  // For a device-mapper device, its name and what it is built on.
  std::optional<DmInfo> dm;
};

// A process that holds a device open, or has a file on it open.
struct FdHolder {
  int pid = 0;
  int fd = -1;               // -1 when the hold is not a descriptor (see kind)
  std::string target;        // readlink of the /proc/PID/fd/N (or cwd/root/exe) link; a map's path
  DevId dev;                 // which of the devices asked for
  std::string kind;          // "fd", "cwd", "root", "exe" or "map" (a memory mapping)
  bool device_node = false;  // true: the block device node itself is open
  uint64_t mntns = 0;        // the process's mount namespace; 0 when not known
};

// What the Ceph cluster says about an rbd image (resolve/ceph_client.h asks).
// A client watching the image's header object.
struct RbdWatcher {
  std::string address;    // "10.0.0.5:0/3921577283"
  int64_t global_id = 0;  // client.<global_id>; a kernel mapping's sysfs client_id
  uint64_t cookie = 0;
};

// A holder of the image's lock.
struct RbdLocker {
  std::string client;  // "client.14235"
  std::string cookie;  // "auto 139790224" for the exclusive-lock feature's lock
  std::string address;
};

struct RbdImageClients {
  std::string pool, rados_namespace, image;
  std::vector<RbdWatcher> watchers;  // without our own, if opening the image made one
  std::vector<RbdLocker> lockers;
  bool lock_exclusive = false;  // the lock is exclusive (else shared); false when unlocked
  std::string lock_tag;         // kRbdExclusiveLockTag when the exclusive-lock feature holds it
  bool has_exclusive_lock_feature = false;
  // The exclusive-lock feature's owner ("client.14235"): the locker when the
  // lock is the feature's (tag kRbdExclusiveLockTag); empty without the
  // feature, when nobody holds it, or when the lock is an advisory one.
  std::vector<std::string> lock_owners;
};

}  // namespace mountleak

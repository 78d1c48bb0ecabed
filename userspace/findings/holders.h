// SPDX-License-Identifier: Apache-2.0
#pragma once

// Who holds a block device, and what each holder is: the host's own mounts,
// the pod that legitimately uses its volume, copies that follow the host
// (slave or shared: they go away when the host unmounts), private copies
// that will not (the leak), open file descriptors, and stacked devices.
// Shared by `scan` (from a fresh snapshot) and `trace` (from its live model).

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "findings/attribution.h"
#include "findings/host_layout.h"
#include "model/device.h"
#include "model/mount_namespace.h"

namespace mountleak {

enum class HolderRole {
  kHost,      // the host's own mount (kubelet's global mount, the pod volume)
  kOwner,     // the pod the volume belongs to, using it as intended
  kFollower,  // a copy that receives the host's unmounts: harmless
  kLeak,      // a private copy: keeps the device busy after the host unmounts
  kFd,        // a process with the device, or a file on it, open
  kStacked,   // a device-mapper or md device built on top of it
};
std::string_view holder_role_name(HolderRole role);

struct Holder {
  HolderRole role = HolderRole::kLeak;
  uint64_t mntns = 0;
  std::string mountpoint;               // as that namespace sees it (first of mountpoints)
  std::vector<std::string> mountpoints;
  std::string root;                     // bind root within the filesystem
  std::string propagation;              // "private", "slave", ...
  std::string pinned_at;                // nsfs bind mount keeping a process-less namespace alive
  int held_open_by = 0;                 // or the process whose descriptor held_open_fd keeps it
  int held_open_fd = -1;
  std::vector<FdHolder> fds;            // role kFd
  std::string stacked_device;           // role kStacked
  Attribution who;                      // processes, container, pod
  std::string via;
  std::string hint;
};

struct DeviceHolders {
  DeviceRef device;
  bool host_mounted = false;
  std::vector<Holder> holders;
  // For an rbd device, what the cluster says (watchers, lockers), or why it
  // could not be asked.
  std::optional<RbdImageClients> ceph;
  std::string ceph_error;
  // A leak: some namespace holds a private copy (the host may or may not
  // still have its own mount).
  bool leaked() const;
  // Something other than the host and the owner keeps it (leak or fd).
  bool needs_action() const;
};

struct HolderInputs {
  const std::map<uint64_t, MountNamespace>& namespaces;
  uint64_t host_mntns;
  std::vector<FdHolder> fds;                  // for this device
  std::vector<std::string> stacked_devices;   // /sys/class/block/<dev>/holders
  // The namespaces that mount the device, when the caller keeps an index of
  // them (trace's live model), so a lookup does not walk every mount of the
  // node; null: look through all of them.
  const std::vector<uint64_t>* mounting = nullptr;
  // The host's layout (kubelet root, host paths), when the caller keeps one;
  // null: built from the host namespace for this call.
  const HostLayout* layout = nullptr;
};

// The peer groups of the host's own mounts of dev.
std::set<uint32_t> host_peer_groups(const MountNamespace& host, DevId dev);

// A copy follows the host when it is a slave of, or a peer of, one of the
// host's own mounts of the device: the host's unmount then reaches it.
bool follows_host(const MountEntry& m, const std::set<uint32_t>& host_groups);

class HolderFinder {
 public:
  HolderFinder(const HostPaths& paths, AttributionSource& attributor);
  DeviceHolders find(const DeviceRef& device, const HolderInputs& inputs);

 private:
  const HostPaths& paths_;
  AttributionSource& attributor_;
};

// --all's rule: keep a device when some holder needs action (a private copy,
// an open descriptor, a stacked device) or when more than one namespace that
// does not merely follow the host holds it (e.g. the host and its owner pod).
// Followers are dropped from what is shown: they are harmless by design.
bool keep_for_all(DeviceHolders& device);

}  // namespace mountleak

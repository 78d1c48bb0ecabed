// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the collector asks of the node besides mount tables (those come from
// a NamespaceSource): who processes are, which devices are tracked and what
// they are, where the kubelet root is, and which device a busy path names.
// LiveNodeLookups asks the node itself; `replay` answers from a log, and
// `trace --log` records each answer for it (postmortem/recorded_*).

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "findings/attribution.h"
#include "findings/host_layout.h"
#include "model/device.h"
#include "model/kernel_event.h"
#include "model/mount_namespace.h"

namespace mountleak {

// The device a busy event names, and how it was named ("kernel",
// "mount_table", "path", "rbd_id" or "dm_name").
struct BusyDevice {
  DevId dev;
  std::string from;
};

class NodeLookups : public AttributionSource {
 public:
  // The host's mount namespace (attribution counts shims only there).
  virtual void set_host_mntns(uint64_t inode) = 0;
  // Forget what was read about processes and containers: pids are reused.
  virtual void forget_processes() = 0;
  // Whether --devices tracks the device, from its kernel name.
  virtual bool tracked(DevId dev) = 0;
  // The device as findings name it, read afresh.
  virtual DeviceRef describe_device(DevId dev) = 0;
  // The host's layout from the host's mount table.
  virtual HostLayout host_layout(const std::vector<MountEntry>& host_mounts) = 0;
  // The device a busy event names; `resolve` asks the node (a path lookup
  // inside the failing process's root, rbd's sysfs).
  virtual std::optional<BusyDevice> busy_device(const KernelEvent& e,
                                                const std::function<std::optional<BusyDevice>()>& resolve) = 0;
  // The processes that keep the device busy without a mount: descriptors,
  // cwd, root, executable or memory maps on it, in any namespace. `along`:
  // other devices worth looking for in the same walk (the other tracked
  // ones); `namespaces` names the mounts a descriptor is not followed into
  // (fd_holders.h).
  virtual std::vector<FdHolder> open_holders(DevId dev, const std::vector<DevId>& along,
                                             const std::map<uint64_t, MountNamespace>& namespaces) = 0;
};

class LiveNodeLookups : public NodeLookups {
 public:
  LiveNodeLookups(const HostPaths& paths, CmdlinePolicy cmdline) : paths_(paths), attributor_(paths, cmdline) {}
  Attribution attribute(const std::vector<int>& pids) override { return attributor_.attribute(pids); }
  const ProcessInfo* process(int pid) override { return attributor_.process(pid); }
  void set_host_mntns(uint64_t inode) override { attributor_.set_host_mntns(inode); }
  void forget_processes() override { attributor_.clear(); }
  bool tracked(DevId dev) override;
  DeviceRef describe_device(DevId dev) override;
  HostLayout host_layout(const std::vector<MountEntry>& host_mounts) override {
    return HostLayout::build(paths_, host_mounts);
  }
  std::optional<BusyDevice> busy_device(const KernelEvent&,
                                        const std::function<std::optional<BusyDevice>()>& resolve) override {
    return resolve();
  }
  // A walk over every process of the node looks for every device asked
  // about at once, and its answer is reused for kWalkReuse, or for 20 times
  // as long as the walk took if that is longer: a container making devices
  // fail EBUSY in a loop cannot keep us walking /proc more than a twentieth
  // of the time.
  std::vector<FdHolder> open_holders(DevId dev, const std::vector<DevId>& along,
                                     const std::map<uint64_t, MountNamespace>& namespaces) override;
  static constexpr auto kWalkReuse = std::chrono::seconds(1);
  static constexpr int kWalkCostFactor = 20;

 private:
  struct OpenHoldersWalk {
    std::chrono::steady_clock::time_point until;
    std::vector<DevId> devs;  // sorted
    std::vector<FdHolder> found;
  };
  const HostPaths& paths_;
  Attributor attributor_;
  std::optional<OpenHoldersWalk> last_walk_;
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// busy: an rbd unmap, umount, exclusive open, detach or dm remove failed
// with EBUSY.
// The device is named from what the hook saw (the kernel tier names it
// itself), and every holder of it is named at once.

#include <optional>

#include "collector/node_state.h"
#include "collector/reconciler.h"
#include "model/kernel_event.h"

namespace mountleak {

class BusyDetector {
 public:
  BusyDetector(NodeState& node, Reconciler& reconciler) : node_(node), reconciler_(reconciler) {}

  // The model must be current first (the caller re-reads what is pending).
  void judge(const KernelEvent& e, const BusyFailure& busy);

 private:
  std::optional<BusyDevice> busy_device(const KernelEvent& e, const BusyFailure& busy);
  std::optional<BusyDevice> device_at_path(int pid, const BusyFailure& busy, bool device_node);
  std::optional<BusyDevice> unmounted_device(const KernelEvent& e, const BusyFailure& busy);
  std::optional<BusyDevice> rbd_device(const BusyFailure& busy);
  std::optional<BusyDevice> dm_device(const BusyFailure& busy);
  bool on_tracked_device(const BusyFailure& busy, DevId dev);

  NodeState& node_;
  Reconciler& reconciler_;
};

}  // namespace mountleak

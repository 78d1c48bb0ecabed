// SPDX-License-Identifier: Apache-2.0
#pragma once

// The hostPath risk, judged once for `trace` and `scan --risks`: a bind, in
// a namespace that is not the host's, of a host directory, with private
// propagation, so the host's later unmounts below it never reach the copy.
// trace judges it when a tracked device's private copy came in through such
// a bind; scan --risks judges every bind of a directory that exposes the
// kubelet's volume mounts (kubelet_cover.h), before any device is there.

#include <functional>
#include <optional>
#include <vector>

#include "findings/finding.h"
#include "findings/host_layout.h"
#include "model/mount_namespace.h"

namespace mountleak {

// Neither a slave nor shared (private, or unbindable and nothing else): no
// unmount of the host's reaches a copy below it. A slave or shared bind
// receives them (HostToContainer, Bidirectional).
bool keeps_private_copies(const MountEntry& bind);

// A bind as findings describe it: the host directory it shows, as the host
// names it, and whether that directory is the kubelet root, above it, or a
// directory below it that the kubelet mounts volumes under.
BoundDirectory bound_directory(const BindOrigin& origin, const HostLayout& layout);

// trace: the bind that brought the first private copy of `dev` (one that
// does not follow the host's mounts of it) into `ns`; none when the copy
// came with a copy of the host's whole tree.
std::optional<BoundDirectory> bind_behind_copy(const MountNamespace& ns, const MountNamespace* host,
                                               const HostLayout& layout, DevId dev,
                                               const std::function<bool(DevId)>& tracked);

// scan --risks: every private bind in `ns` of a host directory that
// exposes the kubelet's volume mounts, whether or not anything is mounted
// there now. Mounts that came in with such a bind (an rbind's submounts)
// are part of it, not risks of their own. The host's own namespace has none.
std::vector<BoundDirectory> kubelet_root_binds(const MountNamespace& ns, const std::vector<MountEntry>& host_mounts,
                                               const HostLayout& layout);

}  // namespace mountleak

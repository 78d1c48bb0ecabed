// SPDX-License-Identifier: Apache-2.0
#pragma once

// The PersistentVolume a mount belongs to, read from the kubelet's own
// directory names, so that a metric about a leak can be joined with
// kube-state-metrics' kube_persistentvolume_info{persistentvolume}.

#include <string>
#include <string_view>
#include <vector>

namespace mountleak {

// The volume name in a kubelet volume path, wherever the kubelet root is
// (or wherever a container bound it):
//   .../pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount      (a CSI volume)
//   .../pods/<uid>/volumes/kubernetes.io~<plugin>/<name>     (in-tree: the PV
//        name for a PV-backed volume, the pod's volume name for an inline one)
//   .../plugins/kubernetes.io/csi/pv/<pv>/globalmount        (CSI staging, older kubelets)
// Newer kubelets stage CSI volumes under .../csi/<driver>/<sha256>/globalmount,
// which names no PV: "" then, as for any other path. The path comes from a
// container's mount table: only a valid Kubernetes object name (a DNS
// subdomain: [a-z0-9.-], at most 253 bytes, alphanumeric at both ends) is
// returned, never arbitrary bytes.
std::string pv_from_kubelet_path(std::string_view path);

// The first PV named by any of these paths, pod volume paths first.
std::string pv_from_kubelet_paths(const std::vector<std::string>& paths);

}  // namespace mountleak

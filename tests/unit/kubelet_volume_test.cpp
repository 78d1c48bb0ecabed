// SPDX-License-Identifier: Apache-2.0
// The PV name from the kubelet's volume paths, wherever the kubelet root is,
// and nothing from a path a container made up.

#include "findings/kubelet_volume.h"

#include <gtest/gtest.h>

namespace mountleak {
namespace {

TEST(KubeletVolume, CsiPodVolume) {
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/0b1c-22/volumes/kubernetes.io~csi/pvc-7f3a/mount"),
            "pvc-7f3a");
  // A container that bound the kubelet root elsewhere.
  EXPECT_EQ(pv_from_kubelet_path("/host/kubelet/pods/u/volumes/kubernetes.io~csi/pvc-1.b/mount"), "pvc-1.b");
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pvc-7f3a"), "");
}

TEST(KubeletVolume, InTreePodVolume) {
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~rbd/volume-0"), "volume-0");
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~rbd/pvc-9"), "pvc-9");
}

TEST(KubeletVolume, CsiStaging) {
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/plugins/kubernetes.io/csi/pv/pvc-7f3a/globalmount"), "pvc-7f3a");
  // Newer kubelets name the staging directory by a hash: no PV there.
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/plugins/kubernetes.io/csi/rbd.csi.ceph.com/"
                                 "0a3f5c1e9d/globalmount"),
            "");
}

TEST(KubeletVolume, OnlyObjectNames) {
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/PVC/mount"), "");
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/pv\"x/mount"), "");
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/-pv/mount"), "");
  EXPECT_EQ(pv_from_kubelet_path("/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/" + std::string(254, 'a') +
                                 "/mount"),
            "");
  EXPECT_EQ(pv_from_kubelet_path("/data/pvc-7f3a"), "");
  EXPECT_EQ(pv_from_kubelet_path(""), "");
}

TEST(KubeletVolume, PodVolumePathsComeFirst) {
  EXPECT_EQ(pv_from_kubelet_paths({"/var/lib/kubelet/plugins/kubernetes.io/csi/pv/staged/globalmount",
                                   "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/published/mount"}),
            "published");
  EXPECT_EQ(pv_from_kubelet_paths({"/x", "/var/lib/kubelet/plugins/kubernetes.io/csi/pv/staged/globalmount"}),
            "staged");
  EXPECT_EQ(pv_from_kubelet_paths({}), "");
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// The capability tables: what the checks say and what trace keeps. Whether
// the sets are enough, and each member needed, is measured by the
// privileged tier (tests/privileged/capabilities_test.cpp).

#include "util/capabilities.h"

#include <linux/capability.h>

#include <gtest/gtest.h>

#include <algorithm>

namespace mountleak {
namespace {

bool has(std::span<const CapabilityNeed> set, int capability) {
  return std::any_of(set.begin(), set.end(), [&](const CapabilityNeed& n) { return n.capability == capability; });
}

TEST(Capabilities, TraceKeepsOnlyWhatItWasGiven) {
  for (const auto& kept : trace_keeps()) EXPECT_TRUE(has(trace_needs(), kept.capability)) << kept.capability;
  // Loading, mounting, entering namespaces and shrinking the bounding set
  // all happen before the drop.
  for (int gone : {CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_SYS_CHROOT, CAP_SETPCAP})
    EXPECT_FALSE(has(trace_keeps(), gone)) << capability_name(gone);
}

// --release-leaks starts with trace's set and keeps, beyond trace's two,
// exactly what release's child uses: setns, chroot and umount2.
TEST(Capabilities, TraceReleasingKeepsWhatReleaseNeedsToUnmount) {
  for (const auto& need : trace_needs()) EXPECT_TRUE(has(trace_release_needs(), need.capability));
  EXPECT_EQ(trace_release_needs().size(), trace_needs().size());
  for (const auto& kept : trace_release_keeps()) {
    EXPECT_TRUE(has(trace_release_needs(), kept.capability)) << capability_name(kept.capability);
    EXPECT_TRUE(has(release_needs(), kept.capability)) << capability_name(kept.capability);
  }
  for (int cap : {CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_ADMIN, CAP_SYS_CHROOT})
    EXPECT_TRUE(has(trace_release_keeps(), cap)) << capability_name(cap);
  EXPECT_EQ(trace_release_keeps().size(), 4u);
}

TEST(Capabilities, EveryNeedSaysWhy) {
  for (auto set : {probe_needs(), scan_needs(), release_needs(), trace_needs(), trace_keeps(), trace_release_needs(),
                   trace_release_keeps()})
    for (const auto& need : set) EXPECT_GT(std::string(need.why).size(), 10u) << capability_name(need.capability);
}

TEST(Capabilities, NamesAreLibcapsLowerCase) {
  EXPECT_EQ(capability_name(CAP_SYS_PTRACE), "cap_sys_ptrace");
  EXPECT_EQ(capability_name(CAP_BPF), "cap_bpf");
  EXPECT_EQ(capability_name(CAP_DAC_READ_SEARCH), "cap_dac_read_search");
}

TEST(Capabilities, AnEmptyNeedIsAlwaysMet) { EXPECT_TRUE(check_capabilities("mountleak test", {}).ok()); }

}  // namespace
}  // namespace mountleak

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

TEST(Capabilities, EveryNeedSaysWhy) {
  for (auto set : {probe_needs(), scan_needs(), trace_needs(), trace_keeps()})
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

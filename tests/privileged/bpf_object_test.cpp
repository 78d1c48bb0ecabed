// SPDX-License-Identifier: Apache-2.0
// The BPF object on the real kernel: the embedded object opens and carries
// our ABI version, and an object built for another ABI is refused.

#include <gtest/gtest.h>

#include "mountleak/events.h"
#include "sources/bpf/bpf_object.h"
#include "sources/bpf/kernel_features.h"
#include "sources/bpf/tracefs.h"

namespace mountleak {
namespace {

TEST(BpfObject, EmbeddedObjectCarriesOurAbi) {
  auto obj = open_bpf_object(BpfObjectSource{});
  ASSERT_TRUE(obj.ok()) << obj.error().message;
  auto version = object_abi_version(obj->get());
  ASSERT_TRUE(version.ok()) << version.error().message;
  EXPECT_EQ(*version, static_cast<uint32_t>(MOUNTLEAK_ABI_VERSION));
}

TEST(BpfObject, WrongAbiVersionIsRefusedWithClearError) {
  auto obj = open_bpf_object(BpfObjectSource{MOUNTLEAK_BAD_ABI_OBJECT});
  ASSERT_FALSE(obj.ok());
  const std::string& message = obj.error().message;
  EXPECT_NE(message.find("ABI version 9999"), std::string::npos) << message;
  EXPECT_NE(message.find("speaks version " + std::to_string(MOUNTLEAK_ABI_VERSION)), std::string::npos)
      << message;
  EXPECT_NE(message.find(MOUNTLEAK_BAD_ABI_OBJECT), std::string::npos) << message;
}

TEST(BpfObject, MissingObjectFileIsAClearError) {
  auto obj = open_bpf_object(BpfObjectSource{"/nonexistent/mountleak.bpf.o"});
  ASSERT_FALSE(obj.ok());
  EXPECT_NE(obj.error().message.find("/nonexistent/mountleak.bpf.o"), std::string::npos);
}

TEST(KernelProber, TracepointsLoadOnThisKernel) {
  // Every kernel mountleak supports has syscall tracepoints; if this fails
  // the tracer cannot run at all, so it is worth its own test. Their ids
  // come from tracefs, mounted or, as on a fresh host, a detached mount.
  const TracefsStatus& tracefs = find_tracefs();
  ASSERT_TRUE(tracefs.available) << tracefs.detail;
  KernelProber prober(BpfObjectSource{});
  FeatureProbe tp = prober.probe(ProgramKind::kTracepoint);
  EXPECT_TRUE(tp.available) << tp.detail;
  FeatureProbe ring = prober.probe(ProgramKind::kRingbuf);
  EXPECT_TRUE(ring.available) << ring.detail;
}

}  // namespace
}  // namespace mountleak

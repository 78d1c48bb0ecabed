// SPDX-License-Identifier: Apache-2.0
// The BPF object on the real kernel: the embedded object opens and carries
// our ABI version, and an object built for another ABI is refused. The
// prober's BTF lookups read this kernel's own BTF and symbols.

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <iostream>

#include "mountleak/events.h"
#include "sources/bpf/bpf_object.h"
#include "sources/bpf/kernel_btf.h"
#include "sources/bpf/kernel_features.h"
#include "sources/bpf/tracefs.h"
#include "sources/kernel_functions.h"

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

TEST(KernelProber, ReadsThisKernelsBtfAndSymbols) {
  KernelBtf btf;
  // path_umount: the probe programs' own target, on every kernel we support.
  auto found = btf.btf_function("", "path_umount");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, Presence::kPresent);
  auto symbol = btf.kernel_symbol("", "path_umount");
  ASSERT_TRUE(symbol) << symbol.error().message;
  EXPECT_EQ(*symbol, Presence::kPresent);
  EXPECT_EQ(attach_target_unusable({ProgramKind::kFexit, "", "ml_no_such_function"}, btf),
            "no function ml_no_such_function in vmlinux's BTF");
  EXPECT_EQ(attach_target_unusable({ProgramKind::kKprobe, "", "ml_no_such_function"}, btf),
            "no function ml_no_such_function in vmlinux's BTF or the kernel's symbols");
  auto module = btf.btf_function("ml_no_such_module", "f");
  ASSERT_FALSE(module);
  EXPECT_EQ(module.error().errno_value, ENOENT) << module.error().message;
}

TEST(KernelProber, JudgesEveryKernelTierProgramBeforeLoading) {
  // What this kernel's BTF says of each program's function; which ones it
  // has is the kernel's business, so the answers are shown, and each
  // refusal must name its function.
  KernelProber prober(BpfObjectSource{});
  const auto start = std::chrono::steady_clock::now();
  prober.program_unusable("ml_fexit_path_umount");  // reads vmlinux's BTF once, for all
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::cout << "vmlinux BTF read and every vmlinux target judged in " << ms.count() << " ms\n";
  for (const auto& hook : mountleak_hooks())
    for (const auto& candidate : hook.candidates)
      for (const auto& program : candidate.programs) {
        if (program.kind != ProgramKind::kFexit && program.kind != ProgramKind::kKprobe) continue;
        const std::string why = prober.program_unusable(program.name);
        std::cout << "  " << program.name << ": " << (why.empty() ? "usable" : why) << "\n";
        const std::string expected_mention = candidate.module.empty() ? "function " : candidate.module;
        if (!why.empty()) {
          EXPECT_NE(why.find(expected_mention), std::string::npos) << program.name << ": " << why;
        }
      }
}

}  // namespace
}  // namespace mountleak

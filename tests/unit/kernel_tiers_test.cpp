// SPDX-License-Identifier: Apache-2.0
// Tier selection from a feature table: the first candidate the kernel
// accepts wins, refused programs are passed over, --no-feature hides kinds.

#include "sources/kernel_tiers.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

namespace mountleak {
namespace {

class TableFeatures : public FeatureSource {
 public:
  std::map<ProgramKind, bool> available;
  std::set<std::string> modules;
  int probes = 0;
  FeatureProbe probe(ProgramKind kind) override {
    ++probes;
    return {available[kind], available[kind] ? "ok" : "load refused: EPERM"};
  }
  bool module_loaded(const std::string& name) override { return modules.count(name) > 0; }
  std::map<std::string, std::string> unusable;  // program -> why
  std::string program_unusable(const std::string& program) override {
    auto it = unusable.find(program);
    return it == unusable.end() ? "" : it->second;
  }
};

const std::vector<Hook> kHooks = {
    {"umount", "",
     {{Tier::kKernel, ProgramKind::kFexit, {{ProgramKind::kFexit, "fexit_path_umount"}}},
      {Tier::kKernel, ProgramKind::kKprobe, {{ProgramKind::kKprobe, "kretprobe_path_umount"}}},
      {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "tp_umount"}}}}},
    {"propagation", "", {{Tier::kReconcile, std::nullopt, {}}}},
};

TEST(ChooseHooks, FirstAcceptedCandidateWins) {
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  auto chosen = choose_hooks(kHooks, f);
  ASSERT_EQ(chosen.size(), 2u);
  EXPECT_EQ(chosen[0].tier, Tier::kKernel);
  EXPECT_EQ(chosen[0].programs, std::vector<std::string>{"fexit_path_umount"});
  EXPECT_EQ(chosen[1].tier, Tier::kReconcile);
}

TEST(ChooseHooks, FallsBackAndSaysWhy) {
  TableFeatures f;  // like this machine: no fentry/fexit, no kprobes
  f.available = {{ProgramKind::kTracepoint, true}};
  auto chosen = choose_hooks(kHooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kTracepoint);
  EXPECT_NE(chosen[0].reason.find("fexit: load refused: EPERM"), std::string::npos) << chosen[0].reason;
}

TEST(ChooseHooks, RefusedProgramIsPassedOver) {
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  auto chosen = choose_hooks(kHooks, f, {"fexit_path_umount"});
  EXPECT_EQ(chosen[0].tier, Tier::kTracepoint);
  EXPECT_NE(chosen[0].reason.find("refused by the kernel"), std::string::npos);
}

TEST(ChooseHooks, NothingUsableLeavesTheHookUnserved) {
  TableFeatures f;
  auto chosen = choose_hooks(kHooks, f);
  EXPECT_FALSE(chosen[0].tier.has_value());
  EXPECT_FALSE(chosen[0].reason.empty());
}

TEST(RestrictedFeatures, HidesDisabledKinds) {
  TableFeatures inner;
  inner.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  std::string bad;
  auto disabled = parse_disabled_features({"fentry"}, &bad);
  ASSERT_TRUE(disabled);
  RestrictedFeatures f(inner, *disabled);
  auto chosen = choose_hooks(kHooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kTracepoint);
  EXPECT_NE(chosen[0].reason.find("disabled by --no-feature"), std::string::npos);
}

TEST(ParseDisabledFeatures, RejectsUnknownNames) {
  std::string bad;
  EXPECT_FALSE(parse_disabled_features({"kprobe", "warp-drive"}, &bad));
  EXPECT_EQ(bad, "warp-drive");
  EXPECT_FALSE(parse_disabled_features({"ringbuf"}, &bad));  // not optional
}

const std::vector<Hook> kRbdHooks = {
    {"rbd_remove_busy", "",
     {{Tier::kKernel, ProgramKind::kFexit,
       {{ProgramKind::kFexit, "fexit_remove_single_major_store"}, {ProgramKind::kFexit, "fexit_remove_store"}}, "rbd"},
      {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "exit_write"}}}}},
};

TEST(ChooseHooks, ModuleHookNeedsTheModuleLoaded) {
  TableFeatures f;  // fexit works, which says nothing about rbd's functions
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  auto chosen = choose_hooks(kRbdHooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kTracepoint);
  EXPECT_NE(chosen[0].reason.find("the rbd module is not loaded"), std::string::npos) << chosen[0].reason;

  f.modules = {"rbd"};
  chosen = choose_hooks(kRbdHooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kKernel);
  EXPECT_EQ(chosen[0].programs.size(), 2u);
}

TEST(ChooseHooks, ModuleLoadedButOneTargetRefusedFallsBack) {
  // A loaded module without BTF for a target: the loader's refusal decides.
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  f.modules = {"rbd"};
  auto chosen = choose_hooks(kRbdHooks, f, {"fexit_remove_store"});
  EXPECT_EQ(chosen[0].tier, Tier::kTracepoint);
  EXPECT_NE(chosen[0].reason.find("program fexit_remove_store refused"), std::string::npos) << chosen[0].reason;
}

TEST(ChooseHooks, UnusableModuleProgramPassesToTheNextCandidate) {
  // Before 6.3 rbd's remove_store would be bound to vmlinux's: the kernel
  // tier without it, with the legacy file watched at write(2), comes next.
  const std::vector<Hook> hooks = {
      {"rbd_remove_busy", "",
       {{Tier::kKernel, ProgramKind::kFexit,
         {{ProgramKind::kFexit, "fexit_remove_single_major_store"}, {ProgramKind::kFexit, "fexit_remove_store"}}, "rbd"},
        {Tier::kKernel, ProgramKind::kFexit,
         {{ProgramKind::kFexit, "fexit_remove_single_major_store"}, {ProgramKind::kTracepoint, "exit_write_legacy"}},
         "rbd"},
        {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "exit_write"}}}}},
  };
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  f.modules = {"rbd"};
  f.unusable = {{"fexit_remove_store", "vmlinux's first"}};
  auto chosen = choose_hooks(hooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kKernel);
  EXPECT_EQ(chosen[0].programs, (std::vector<std::string>{"fexit_remove_single_major_store", "exit_write_legacy"}));
  EXPECT_NE(chosen[0].reason.find("fexit_remove_store: vmlinux's first"), std::string::npos) << chosen[0].reason;
}

TEST(RestrictedFeatures, AsksTheInnerSourceAboutPrograms) {
  TableFeatures inner;
  inner.unusable = {{"p", "why"}};
  RestrictedFeatures f(inner, {});
  EXPECT_EQ(f.program_unusable("p"), "why");
  EXPECT_EQ(f.program_unusable("q"), "");
}

TEST(ChooseHooks, ProgramWhoseFunctionIsMissingPassesToTheNextCandidate) {
  // fexit loads, but this kernel's BTF has no path_umount: the kprobe is
  // next, and the reason names the program and why, before any load.
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kKprobe, true}, {ProgramKind::kTracepoint, true}};
  f.unusable = {{"fexit_path_umount", "no function path_umount in vmlinux's BTF"}};
  auto chosen = choose_hooks(kHooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kKernel);
  EXPECT_EQ(chosen[0].programs, std::vector<std::string>{"kretprobe_path_umount"});
  EXPECT_NE(chosen[0].reason.find("kernel tier unavailable (fexit_path_umount: no function path_umount in vmlinux's BTF)"),
            std::string::npos)
      << chosen[0].reason;
}

TEST(ChooseHooks, ProgramsAreNotAskedAboutWhenTheirTypeIsMissing) {
  TableFeatures f;  // no fexit: BTF is not read for an fexit program
  f.available = {{ProgramKind::kTracepoint, true}};
  f.unusable = {{"fexit_path_umount", "should not be asked"}};
  auto chosen = choose_hooks(kHooks, f);
  EXPECT_EQ(chosen[0].reason.find("should not be asked"), std::string::npos) << chosen[0].reason;
}

TEST(ChooseHooks, ModuleIsNotAskedAboutWhenTheTypeIsMissing) {
  TableFeatures f;  // no fexit: the type's own reason, not the module's
  f.available = {{ProgramKind::kTracepoint, true}};
  auto chosen = choose_hooks(kRbdHooks, f);
  EXPECT_EQ(chosen[0].tier, Tier::kTracepoint);
  EXPECT_NE(chosen[0].reason.find("fexit: load refused"), std::string::npos) << chosen[0].reason;
  EXPECT_EQ(chosen[0].reason.find("module"), std::string::npos) << chosen[0].reason;
}

TEST(RestrictedFeatures, AsksTheInnerSourceAboutModules) {
  TableFeatures inner;
  inner.modules = {"rbd"};
  RestrictedFeatures f(inner, {ProgramKind::kKprobe});
  EXPECT_TRUE(f.module_loaded("rbd"));
  EXPECT_FALSE(f.module_loaded("nbd"));
}

TEST(MountleakHooks, ModuleCandidatesAreKernelTier) {
  for (const auto& hook : mountleak_hooks())
    for (const auto& candidate : hook.candidates)
      if (!candidate.module.empty()) {
        EXPECT_EQ(candidate.tier, Tier::kKernel) << hook.name;
      }
}

TEST(MountleakHooks, EveryHookHasATracepointOrReconcileFallback) {
  // The passive candidates are taken only when asked for: auto's last
  // resort is the last of the others.
  for (const auto& hook : mountleak_hooks()) {
    std::optional<Tier> last;
    for (const auto& candidate : hook.candidates)
      if (candidate.tier != Tier::kPassive) last = candidate.tier;
    EXPECT_TRUE(last == Tier::kTracepoint || last == Tier::kReconcile) << hook.name;
  }
}

TEST(MountleakHooks, EveryProgramIsOfTheKindItsCandidateProbesOrATracepoint) {
  // A candidate is chosen on what it `needs`; a program of another kind in
  // it would load untried. Syscall tracepoints are every tier's floor.
  for (const auto& hook : mountleak_hooks())
    for (const auto& candidate : hook.candidates)
      for (const auto& program : candidate.programs)
        EXPECT_TRUE(program.kind == candidate.needs || program.kind == ProgramKind::kTracepoint)
            << hook.name << ": " << program.name << " is " << program_kind_name(program.kind) << ", its candidate needs "
            << (candidate.needs ? program_kind_name(*candidate.needs) : "nothing");
}

// Three tiers of one hook, and a busy hook the passive tier has none for.
const std::vector<Hook> kTieredHooks = {
    {"umount", "",
     {{Tier::kKernel, ProgramKind::kFexit, {{ProgramKind::kFexit, "fexit_path_umount"}}},
      {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "tp_umount"}}},
      {Tier::kPassive, std::nullopt, {}, "", "polled"}}},
    {"open_excl_busy", "",
     {{Tier::kKernel, ProgramKind::kFexit, {{ProgramKind::kFexit, "fexit_claim"}}},
      {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "tp_openat"}}}}},
    {"propagation", "", {{Tier::kKernel, ProgramKind::kFexit, {{ProgramKind::kFexit, "fexit_propagate"}}},
                         {Tier::kReconcile, std::nullopt, {}}}},
};

TEST(ChooseHooks, EachTierChoiceKeepsToItsTier) {
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  auto kernel = choose_hooks(kTieredHooks, f, {}, TierChoice::kKernel);
  EXPECT_EQ(kernel[0].tier, Tier::kKernel);
  EXPECT_EQ(kernel[2].tier, Tier::kKernel);
  auto tracepoint = choose_hooks(kTieredHooks, f, {}, TierChoice::kTracepoint);
  EXPECT_EQ(tracepoint[0].tier, Tier::kTracepoint);
  EXPECT_EQ(tracepoint[1].tier, Tier::kTracepoint);
  EXPECT_EQ(tracepoint[2].tier, Tier::kReconcile);
  auto passive = choose_hooks(kTieredHooks, f, {}, TierChoice::kPassive);
  EXPECT_EQ(passive[0].tier, Tier::kPassive);
  EXPECT_EQ(passive[0].reason, "polled");
  EXPECT_EQ(passive[2].tier, Tier::kReconcile);
}

TEST(ChooseHooks, PassiveLeavesBusyHooksOffAndSaysSo) {
  TableFeatures f;
  f.available = {{ProgramKind::kFexit, true}, {ProgramKind::kTracepoint, true}};
  auto passive = choose_hooks(kTieredHooks, f, {}, TierChoice::kPassive);
  EXPECT_FALSE(passive[1].tier);
  EXPECT_NE(passive[1].reason.find("off on the passive tier"), std::string::npos) << passive[1].reason;
}

TEST(ChooseHooks, AutoNeverTakesThePassiveTier) {
  TableFeatures f;  // nothing loads: the passive candidate needs no program type, but is still not taken
  auto chosen = choose_hooks(kTieredHooks, f);
  EXPECT_FALSE(chosen[0].tier) << chosen[0].reason;
}

TEST(ChooseHooks, KernelTierAskedWhereItIsMissingServesNothing) {
  TableFeatures f;
  f.available = {{ProgramKind::kTracepoint, true}};
  auto kernel = choose_hooks(kTieredHooks, f, {}, TierChoice::kKernel);
  for (const auto& choice : kernel) EXPECT_FALSE(choice.tier) << choice.hook;
}

TEST(ChooseHooks, PassiveTierOfTheRealTableHooksNoSyscall) {
  TableFeatures f;
  for (ProgramKind kind : kAllProgramKinds) f.available[kind] = true;
  for (const auto& choice : choose_hooks(mountleak_hooks(), f, {}, TierChoice::kPassive))
    for (const auto& program : choice.programs)
      EXPECT_TRUE(program == "ml_fork" || program == "ml_exec") << choice.hook << " loads " << program;
}

TEST(TierChoiceNames, RoundTrip) {
  for (TierChoice choice : {TierChoice::kAuto, TierChoice::kKernel, TierChoice::kTracepoint, TierChoice::kPassive})
    EXPECT_EQ(tier_choice_from_name(tier_choice_name(choice)), choice);
  EXPECT_FALSE(tier_choice_from_name("fexit"));
}

}  // namespace
}  // namespace mountleak

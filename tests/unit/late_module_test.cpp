// SPDX-License-Identifier: Apache-2.0
// A kernel module that comes or goes while trace runs (issue 15): which
// modules can move a hook, the choice made again once the module is there,
// sysfs's word on a module's state, and one failing call seen by both
// tiers while a hook moves counting once.

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "collector/busy_handover.h"
#include "output/live_view.h"
#include "output/record_json.h"
#include "sources/kernel_tiers.h"
#include "sources/module_state.h"

namespace mountleak {
namespace {

namespace fs = std::filesystem;

class ModuleFeatures : public FeatureSource {
 public:
  std::set<ProgramKind> available = {ProgramKind::kFexit, ProgramKind::kKprobe, ProgramKind::kTracepoint};
  std::set<std::string> modules;
  std::map<std::string, std::string> unusable;
  FeatureProbe probe(ProgramKind kind) override {
    return available.count(kind) ? FeatureProbe{true, "ok"} : FeatureProbe{false, "disabled by --no-feature"};
  }
  bool module_loaded(const std::string& name) override { return modules.count(name) > 0; }
  std::string program_unusable(const std::string& program) override {
    auto it = unusable.find(program);
    return it == unusable.end() ? "" : it->second;
  }
};

// The shape of dm_remove_busy: fexit on the module, kprobes on it, then a
// syscall tracepoint.
const Hook kDm = {"dm_remove_busy", "",
                  {{Tier::kKernel, ProgramKind::kFexit, {{ProgramKind::kFexit, "fexit_dm"}}, "dm_mod"},
                   {Tier::kKernel, ProgramKind::kKprobe,
                    {{ProgramKind::kKprobe, "kprobe_dm"}, {ProgramKind::kKprobe, "kretprobe_dm"}}, "dm_mod"},
                   {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "tp_ioctl"}}}}};
const Hook kUmount = {"umount", "",
                      {{Tier::kKernel, ProgramKind::kFexit, {{ProgramKind::kFexit, "fexit_umount"}}},
                       {Tier::kTracepoint, ProgramKind::kTracepoint, {{ProgramKind::kTracepoint, "tp_umount"}}}}};

HookChoice choose(const Hook& hook, FeatureSource& f) { return choose_hooks({hook}, f).front(); }

TEST(LateModule, AbsentModuleLeavesTheHookOnItsTracepointSayingWhy) {
  ModuleFeatures f;
  const HookChoice choice = choose(kDm, f);
  EXPECT_EQ(choice.tier, Tier::kTracepoint);
  EXPECT_NE(choice.reason.find(module_not_loaded("dm_mod")), std::string::npos) << choice.reason;
  EXPECT_EQ(choice_kind(kDm, choice), "tracepoint");
  // Waiting for it: its coming moves the hook.
  EXPECT_EQ(modules_that_move(kDm, choice), std::set<std::string>{"dm_mod"});
}

TEST(LateModule, ChosenAgainOnceLoadedTheHookTakesTheModulesFexit) {
  ModuleFeatures f;
  const HookChoice before = choose(kDm, f);
  f.modules.insert("dm_mod");
  const HookChoice after = choose(kDm, f);
  EXPECT_NE(after.programs, before.programs);
  EXPECT_EQ(after.tier, Tier::kKernel);
  EXPECT_EQ(after.programs, std::vector<std::string>{"fexit_dm"});
  EXPECT_EQ(choice_kind(kDm, after), "fexit");
  const HookCandidate* chosen = chosen_candidate(kDm, after);
  ASSERT_NE(chosen, nullptr);
  EXPECT_EQ(chosen->module, "dm_mod");
  // A trampoline holds the module: it cannot go, nothing to watch.
  EXPECT_TRUE(modules_that_move(kDm, after).empty());
}

TEST(LateModule, ModuleWhoseFunctionIsMissingKeepsTheTracepoint) {
  // Loaded, but its BTF (not published yet, or another build) lacks the
  // function: the choice is unchanged (the watch tries again a few times
  // after a load, late_modules.h), and a module already there is not waited for.
  ModuleFeatures f;
  f.modules.insert("dm_mod");
  f.unusable["fexit_dm"] = "dm_lock_for_deletion is not in dm_mod's BTF";
  f.unusable["kprobe_dm"] = "dm_lock_for_deletion is not among dm_mod's symbols";
  const HookChoice choice = choose(kDm, f);
  EXPECT_EQ(choice.tier, Tier::kTracepoint);
  EXPECT_TRUE(modules_that_move(kDm, choice).empty());
}

TEST(LateModule, NoKernelTierNoWatch) {
  // Like this project's host: no fexit, no kprobes. The module's coming
  // would change nothing, so it is not watched (nor capabilities kept).
  ModuleFeatures f;
  f.available = {ProgramKind::kTracepoint};
  const HookChoice choice = choose(kDm, f);
  EXPECT_EQ(choice.tier, Tier::kTracepoint);
  EXPECT_TRUE(modules_that_move(kDm, choice).empty()) << choice.reason;
}

TEST(LateModule, KprobesDoNotHoldTheModuleSoItsGoingIsWatched) {
  ModuleFeatures f;
  f.available.erase(ProgramKind::kFexit);  // --no-feature fentry
  f.modules.insert("dm_mod");
  const HookChoice on_kprobes = choose(kDm, f);
  EXPECT_EQ(choice_kind(kDm, on_kprobes), "kprobe");
  EXPECT_EQ(modules_that_move(kDm, on_kprobes), std::set<std::string>{"dm_mod"});
  f.modules.clear();  // rmmod
  const HookChoice gone = choose(kDm, f);
  EXPECT_EQ(gone.programs, std::vector<std::string>{"tp_ioctl"});
}

TEST(LateModule, HooksOnVmlinuxNeverMove) {
  ModuleFeatures f;
  EXPECT_TRUE(modules_that_move(kUmount, choose(kUmount, f)).empty());
}

TEST(LateModule, ChoiceOfNoCandidateHasNoKind) {
  HookChoice none{"dm_remove_busy", std::nullopt, {}, "no candidates"};
  EXPECT_EQ(chosen_candidate(kDm, none), nullptr);
  EXPECT_EQ(choice_kind(kDm, none), "none");
  // Programs of another candidate's length but other names match nothing.
  HookChoice other{"dm_remove_busy", Tier::kKernel, {"fexit_other"}, ""};
  EXPECT_EQ(chosen_candidate(kDm, other), nullptr);
}

TEST(LateModule, MountleaksModuleHooksAreWatchedUntilTheirModuleIsHeld) {
  // The real table: with no module loaded, rbd and dm_mod are both waited for.
  ModuleFeatures f;
  std::set<std::string> watched;
  const auto& hooks = mountleak_hooks();
  const auto choices = choose_hooks(hooks, f);
  for (size_t i = 0; i < hooks.size(); ++i) watched.merge(modules_that_move(hooks[i], choices[i]));
  EXPECT_EQ(watched, (std::set<std::string>{"dm_mod", "rbd"}));
}

class ModuleStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/tmp/mountleak-modstate-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    root_ = templ;
    fs::create_directories(root_ + "/module");
  }
  void TearDown() override { fs::remove_all(root_); }
  void module(const std::string& name, const char* initstate) {
    fs::create_directories(root_ + "/module/" + name);
    if (initstate) std::ofstream(root_ + "/module/" + name + "/initstate") << initstate;
  }
  std::string root_;
};

TEST_F(ModuleStateTest, ReadsInitstate) {
  module("dm_mod", "live\n");
  module("rbd", "coming\n");
  module("loop", "going\n");
  module("builtin", nullptr);  // built in, with parameters: no initstate
  module("odd", "\x01\xff");
  EXPECT_EQ(module_state(root_, "dm_mod"), ModuleState::kLive);
  EXPECT_EQ(module_state(root_, "rbd"), ModuleState::kComing);
  EXPECT_EQ(module_state(root_, "loop"), ModuleState::kGoing);
  EXPECT_EQ(module_state(root_, "builtin"), ModuleState::kLive);
  EXPECT_EQ(module_state(root_, "odd"), ModuleState::kUnknown);
  EXPECT_EQ(module_state(root_, "nbd"), ModuleState::kAbsent);
}

KernelEvent busy_event(EventTier tier, uint32_t tid, uint64_t ts_ns) {
  KernelEvent e;
  e.kind = EventKind::kBusy;
  e.tier = tier;
  e.tid = tid;
  e.ts_ns = ts_ns;
  return e;
}

TEST(BusyHandover, OneCallSeenByBothTiersWhileAHookMovesCountsOnce) {
  BusyHandover h;
  const auto now = BusyHandover::Clock::now();
  h.moved(now);
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kKernel, 7, 1'000), BusySource::kDmRemove, now));
  EXPECT_TRUE(h.repeated(busy_event(EventTier::kTracepoint, 7, 1'500), BusySource::kDmRemove, now));
  // The next call of the same thread, seen by the tracepoint alone, is new.
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 7, 2'000), BusySource::kDmRemove, now));
}

TEST(BusyHandover, OtherThreadSourceOrLaterCallIsNotARepeat) {
  BusyHandover h;
  const auto now = BusyHandover::Clock::now();
  h.moved(now);
  h.repeated(busy_event(EventTier::kKernel, 7, 1'000), BusySource::kDmRemove, now);
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 8, 1'500), BusySource::kDmRemove, now));
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 7, 1'500), BusySource::kRbdRemove, now));
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 7, 1'000 + BusyHandover::kSameCallNs),
                          BusySource::kDmRemove, now));
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 7, 500), BusySource::kDmRemove, now));  // before it
}

TEST(BusyHandover, NothingIsARepeatOutsideAMove) {
  BusyHandover h;
  const auto now = BusyHandover::Clock::now();
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kKernel, 7, 1'000), BusySource::kDmRemove, now));
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 7, 1'500), BusySource::kDmRemove, now));
  h.moved(now);
  const auto later = now + BusyHandover::kWindow + std::chrono::seconds(1);
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kKernel, 7, 3'000), BusySource::kDmRemove, later));
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 7, 3'500), BusySource::kDmRemove, later));
}

TEST(BusyHandover, RemembersABoundedNumberOfCalls) {
  BusyHandover h;
  const auto now = BusyHandover::Clock::now();
  h.moved(now);
  for (uint32_t tid = 1; tid <= BusyHandover::kRemembered + 4; ++tid)
    h.repeated(busy_event(EventTier::kKernel, tid, 1'000), BusySource::kDmRemove, now);
  // The oldest were forgotten; the newest is still matched.
  EXPECT_FALSE(h.repeated(busy_event(EventTier::kTracepoint, 1, 1'200), BusySource::kDmRemove, now));
  EXPECT_TRUE(h.repeated(busy_event(EventTier::kTracepoint, BusyHandover::kRemembered + 4, 1'200),
                         BusySource::kDmRemove, now));
}

HookMoved dm_moved() {
  HookMoved m;
  m.hook = "dm_remove_busy";
  m.module = "dm_mod";
  m.module_loaded = true;
  m.from = Tier::kTracepoint;
  m.from_programs = {"ml_exit_ioctl_dm_remove"};
  m.from_kind = "tracepoint";
  m.to = {"dm_remove_busy", Tier::kKernel, {"ml_fexit_dm_lock_for_deletion"}, "fexit programs load"};
  m.to_kind = "fexit";
  return m;
}

TEST(HookMovedOutput, LiveViewSaysWhatMovedWhere) {
  const std::string text = live_view_text(Record{std::chrono::system_clock::now(), dm_moved()});
  EXPECT_NE(text.find("dm_mod loaded: dm_remove_busy moved from tracepoint to kernel (fexit)\n"), std::string::npos)
      << text;
  HookMoved failed = dm_moved();
  failed.module_loaded = false;
  failed.error = "loading ml_kprobe_x: \x1b[31mbad";  // libbpf's words, printed safely
  const std::string said = live_view_text(Record{std::chrono::system_clock::now(), failed});
  EXPECT_NE(said.find("dm_mod removed: dm_remove_busy stays on tracepoint: loading ml_kprobe_x: "), std::string::npos)
      << said;
  EXPECT_EQ(said.find('\x1b'), std::string::npos) << said;
}

TEST(HookMovedOutput, JsonNamesBothEnds) {
  const nlohmann::json j = record_json(Record{std::chrono::system_clock::now(), dm_moved()});
  EXPECT_EQ(j["event"], "hook_moved");
  EXPECT_EQ(j["module_state"], "loaded");
  EXPECT_EQ(j["from"]["tier"], "tracepoint");
  EXPECT_EQ(j["to"]["tier"], "kernel");
  EXPECT_EQ(j["to"]["kind"], "fexit");
  EXPECT_EQ(j["to"]["programs"], nlohmann::json::array({"ml_fexit_dm_lock_for_deletion"}));
  EXPECT_FALSE(j.contains("error"));
}

}  // namespace
}  // namespace mountleak

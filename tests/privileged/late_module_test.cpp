// SPDX-License-Identifier: Apache-2.0
// A kernel module loaded after `mountleak trace --watch-modules` started
// (issue 15): dm_mod is not loaded when trace starts, so dm_remove_busy
// waits on the ioctl exit tracepoint; once dm_mod is insmod'ed, trace must
// announce the hook's move to the kernel tier (a hook_moved event), and a
// `dmsetup remove` failing with EBUSY must then be reported by the kernel
// tier, once. Then dm_mod is removed: a kernel that holds a module while a
// trampoline (fexit) is attached to one of its functions refuses, and the
// hook stays; on kprobes (MOUNTLEAK_TEST_EXPECT_PROGRAMS=kprobe, with
// fentry turned off) the module goes, and the hook must move back.
//
// Only the vm lane can run it: its guest boots without dm_mod
// (mlvm_defer_modules) and names the module file in
// MOUNTLEAK_TEST_LATE_MODULE. Run anywhere else it fails, as TraceDmRemove
// does: a module that cannot be loaded late tests nothing.

#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "dm_remove_fixture.h"

namespace mountleak::testing {
namespace {

bool dm_mod_loaded() { return access("/sys/module/dm_mod", F_OK) == 0; }

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
}

// fexit, or kprobe where the lane turned fentry off.
std::string expected_kind() {
  const char* kind = getenv("MOUNTLEAK_TEST_EXPECT_PROGRAMS");
  return kind && *kind ? kind : "fexit";
}

class TraceLateModule : public TraceDmRemove {
 protected:
  void SetUp() override {
    const char* module = getenv("MOUNTLEAK_TEST_LATE_MODULE");
    ASSERT_TRUE(module && *module) << "MOUNTLEAK_TEST_LATE_MODULE names no dm_mod module file: TraceLateModule "
                                      "runs in the vm lane's guests (scripts/vm/guest_init.sh), never on a host";
    module_ = module;
    ASSERT_FALSE(dm_mod_loaded()) << "dm_mod is loaded already: the guest must boot without it (mlvm_defer_modules)";
    char templ[] = "/tmp/mountleak-late-XXXXXX";
    ASSERT_NE(mkdtemp(templ), nullptr);
    empty_ = templ;
  }
  // The dm device first (TraceDmRemove's), then the module this test loaded:
  // the guest's next scenario starts as this one did.
  void TearDown() override {
    if (dm_set_up_) TraceDmRemove::TearDown();
    if (inserted_)
      for (int i = 0; i < 50 && dm_mod_loaded(); ++i)
        if (!fixture::run_command({"rmmod", "dm_mod"}).ok()) std::this_thread::sleep_for(100ms);
    EXPECT_FALSE(inserted_ && dm_mod_loaded()) << "dm_mod, loaded by this test, could not be removed";
    if (!empty_.empty()) rmdir(empty_.c_str());
  }

  // TraceDmRemove's arguments, before its SetUp (which needs dm_mod) made
  // its directory.
  std::vector<std::string> trace_args() const {
    return {"--devices",      "dm-*",  "--host-mntns",   std::to_string(getpid()), "--kubelet-root",
            empty_,           "--containerd-state",      empty_,
            "--crio-state",   empty_,  "--docker-root",  empty_,
            "--pod-log-dir",  empty_,  "--all-events", "--watch-modules"};
  }

  std::string module_, empty_;
  bool inserted_ = false;
  bool dm_set_up_ = false;
};

bool hook_moved(const nlohmann::json& e, const char* state) {
  return e.value("event", "") == "hook_moved" && e.value("hook", "") == "dm_remove_busy" &&
         e.value("module_state", "") == state;
}

TEST_F(TraceLateModule, DmModLoadedAfterReadyMovesDmRemoveToTheKernelTierAndBack) {
  TraceProcess trace(trace_args());
  auto ready = trace.wait_for_event("ready", 30s);
  ASSERT_TRUE(ready) << trace.stderr_text();
  EXPECT_EQ((*ready)["tier"].value("dm_remove_busy", ""), "tracepoint") << ready->dump();
  EXPECT_NE(ready->value("module_watch", nlohmann::json::array()).dump().find("\"dm_mod\""), std::string::npos)
      << ready->dump();
  // What watching costs: loading later needs what loading needed at start.
  EXPECT_EQ((*ready)["capabilities"], nlohmann::json({"cap_dac_read_search", "cap_sys_ptrace", "cap_sys_admin",
                                                      "cap_perfmon", "cap_bpf"}))
      << ready->dump();

  const auto before_insmod = std::chrono::steady_clock::now();
  auto inserted = fixture::run_command({"insmod", module_});
  ASSERT_TRUE(inserted.ok()) << inserted.error().message;
  inserted_ = true;
  auto moved = trace.wait_for([](const nlohmann::json& e) { return hook_moved(e, "loaded"); }, 30s);
  ASSERT_TRUE(moved) << trace.describe() << "\n" << trace.stderr_text();
  // For the README's figure: a second's poll at most, plus the load.
  std::printf("insmod to hook_moved: %lld ms\n", static_cast<long long>(ms_since(before_insmod)));
  EXPECT_FALSE(moved->contains("error")) << moved->dump();
  EXPECT_EQ((*moved)["module"], "dm_mod");
  EXPECT_EQ((*moved)["from"]["tier"], "tracepoint") << moved->dump();
  EXPECT_EQ((*moved)["to"]["tier"], "kernel") << moved->dump();
  EXPECT_EQ((*moved)["to"]["kind"], expected_kind()) << moved->dump();

  // The failing remove, on the kernel tier now.
  TraceDmRemove::SetUp();
  dm_set_up_ = true;
  ASSERT_FALSE(HasFatalFailure());
  make_leak();
  remove_fails_busy();
  auto raw = trace.wait_for(
      [&](const nlohmann::json& e) { return e.value("event", "") == "busy_raw" && e.value("source", "") == "dm_remove"; },
      15s);
  ASSERT_TRUE(raw) << trace.describe();
  EXPECT_EQ((*raw)["tier"], "kernel") << raw->dump();
  EXPECT_EQ((*raw)["path"], dm_) << raw->dump();  // the kernel tier names the disk
  auto busy = trace.wait_for(
      [&](const nlohmann::json& e) { return e.value("event", "") == "busy" && e.value("source", "") == "dm_remove"; },
      15s);
  ASSERT_TRUE(busy) << trace.describe() << "\n" << trace.stderr_text();
  EXPECT_EQ((*busy)["device_from"], "kernel") << busy->dump();
  EXPECT_TRUE(names_holder_as_leak((*busy)["holders"])) << "pid " << holder_ << ": " << busy->dump();

  // The device goes (TraceDmRemove's teardown), then the module is asked to.
  TraceDmRemove::TearDown();
  dm_set_up_ = false;
  const auto before_rmmod = std::chrono::steady_clock::now();
  const bool removed = fixture::run_command({"rmmod", "dm_mod"}).ok();
  if (expected_kind() == "fexit") {
    // The trampoline holds dm_mod (measured: rmmod says EAGAIN); README
    // says so. The hook stays where it is.
    EXPECT_FALSE(removed) << "rmmod dm_mod succeeded while an fexit program was attached to dm_lock_for_deletion";
  } else {
    EXPECT_TRUE(removed) << "rmmod dm_mod failed though only kprobes were on it";
    auto back = trace.wait_for([](const nlohmann::json& e) { return hook_moved(e, "removed"); }, 30s);
    ASSERT_TRUE(back) << trace.describe() << "\n" << trace.stderr_text();
    std::printf("rmmod to hook_moved: %lld ms\n", static_cast<long long>(ms_since(before_rmmod)));
    EXPECT_FALSE(back->contains("error")) << back->dump();
    EXPECT_EQ((*back)["from"]["tier"], "kernel") << back->dump();
    EXPECT_EQ((*back)["to"]["tier"], "tracepoint") << back->dump();
  }
  EXPECT_EQ(trace.stop(), 0) << trace.stderr_text();
  // One failing call, one finding: nothing else about it came after.
  int busy_findings = 0;
  for (const auto& e : trace.events())
    if (e.value("event", "") == "busy" && e.value("source", "") == "dm_remove") ++busy_findings;
  EXPECT_EQ(busy_findings, 1) << trace.describe();
  // And the tracepoint it replaced was detached: the call was the kernel
  // tier's alone, not one the collector merged.
  for (const auto& e : trace.events())
    if (e.value("event", "") == "busy_raw" && e.value("source", "") == "dm_remove") {
      EXPECT_EQ(e.value("tier", ""), "kernel") << "the ioctl exit tracepoint still ran: " << e.dump();
    }
}

}  // namespace
}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
// Attach targets read from section names, and judged against a pretend
// kernel: which functions its BTF (vmlinux's, each module's) and its symbol
// table have.

#include "sources/kernel_functions.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace mountleak {
namespace {

TEST(AttachTargetOfSection, ReadsKindModuleAndFunction) {
  auto t = attach_target_of_section("?fexit/path_umount");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, ProgramKind::kFexit);
  EXPECT_EQ(t->module, "");
  EXPECT_EQ(t->function, "path_umount");

  t = attach_target_of_section("?fexit.module/rbd:remove_store");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, ProgramKind::kFexit);
  EXPECT_EQ(t->module, "rbd");
  EXPECT_EQ(t->function, "remove_store");

  t = attach_target_of_section("fentry.s/copy_mnt_ns");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, ProgramKind::kFentry);
  EXPECT_EQ(t->function, "copy_mnt_ns");

  t = attach_target_of_section("?kretprobe/path_umount");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, ProgramKind::kKprobe);
  EXPECT_EQ(t->function, "path_umount");

  t = attach_target_of_section("kprobe/path_umount+0x10");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->function, "path_umount");

  // The kernel's "MOD:SYM" for a module's function (bpf/kernel_busy.bpf.c).
  t = attach_target_of_section("?kretprobe/rbd:remove_store");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, ProgramKind::kKprobe);
  EXPECT_EQ(t->module, "rbd");
  EXPECT_EQ(t->function, "remove_store");
}

TEST(AttachTargetOfSection, NoneForSectionsWithoutAKernelFunction) {
  for (const char* section : {"tp/syscalls/sys_exit_write", "?tp/syscalls/sys_enter_getppid",
                              "raw_tp/sched_process_fork", "?lsm/sb_umount", "license", "fexit/",
                              "fexit.module/:remove_store", "fexit.module/rbd", "fexit.module/rbd:",
                              "kprobe/:remove_store", "kretprobe/rbd:"})
    EXPECT_FALSE(attach_target_of_section(section)) << section;
}

// A kernel described by which functions it has, where. A module absent
// from `btf` has no BTF at all; `unreadable` ones cannot be read.
class FakeKernel : public KernelFunctions {
 public:
  std::map<std::string, std::set<std::string>> btf;  // "" is vmlinux
  std::set<std::string> unreadable;
  std::set<std::string> symbols;  // "function" for vmlinux's, "module:function" for a module's
  bool symbols_readable = true;
  std::vector<std::string> asked;  // "btf:<module>:<function>", "sym:<module>:<function>"

  Result<Presence> btf_function(const std::string& module, const std::string& function) override {
    asked.push_back("btf:" + module + ":" + function);
    if (unreadable.count(module)) return Error{"reading " + module + "'s BTF: Permission denied", EACCES};
    auto it = btf.find(module);
    if (it == btf.end()) return Error{"the kernel has no BTF for " + module, ENOENT};
    return it->second.count(function) ? Presence::kPresent : Presence::kAbsent;
  }
  Result<Presence> kernel_symbol(const std::string& module, const std::string& function) override {
    asked.push_back("sym:" + module + ":" + function);
    if (!symbols_readable) return Error{"reading /proc/kallsyms: Permission denied", EACCES};
    if (!module.empty()) return symbols.count(module + ":" + function) ? Presence::kPresent : Presence::kAbsent;
    for (const auto& symbol : symbols)
      if (symbol == function || (symbol.find(':') != symbol.npos && symbol.substr(symbol.find(':') + 1) == function))
        return Presence::kPresent;
    return Presence::kAbsent;
  }
};

AttachTarget fexit(std::string function, std::string module = "") {
  return {ProgramKind::kFexit, std::move(module), std::move(function)};
}
AttachTarget kprobe(std::string function, std::string module = "") {
  return {ProgramKind::kKprobe, std::move(module), std::move(function)};
}

TEST(AttachTargetUnusable, FexitNeedsTheFunctionInVmlinuxBtf) {
  FakeKernel k;
  k.btf[""] = {"path_umount"};
  k.symbols = {"path_umount", "gone_from_btf"};
  EXPECT_EQ(attach_target_unusable(fexit("path_umount"), k), "");
  // In the symbol table is not enough: fexit is bound through BTF.
  EXPECT_EQ(attach_target_unusable(fexit("gone_from_btf"), k), "no function gone_from_btf in vmlinux's BTF");
  EXPECT_EQ(attach_target_unusable({ProgramKind::kFentry, "", "renamed_in_6_9"}, k),
            "no function renamed_in_6_9 in vmlinux's BTF");
}

TEST(AttachTargetUnusable, UnreadableVmlinuxBtfLeavesItToTheLoad) {
  FakeKernel k;
  k.unreadable = {""};
  EXPECT_EQ(attach_target_unusable(fexit("path_umount"), k), "");
}

TEST(AttachTargetUnusable, KprobeFallsBackToTheSymbolTable) {
  FakeKernel k;
  k.btf[""] = {"path_umount"};
  k.symbols = {"path_umount", "left_out_by_pahole"};
  EXPECT_EQ(attach_target_unusable(kprobe("path_umount"), k), "");
  EXPECT_EQ(k.asked, std::vector<std::string>{"btf::path_umount"});  // BTF answered, kallsyms unread
  EXPECT_EQ(attach_target_unusable(kprobe("left_out_by_pahole"), k), "");
  EXPECT_EQ(attach_target_unusable(kprobe("nowhere"), k),
            "no function nowhere in vmlinux's BTF or the kernel's symbols");
  k.symbols_readable = false;
  EXPECT_EQ(attach_target_unusable(kprobe("nowhere"), k), "");
  k.symbols_readable = true;
  k.unreadable = {""};
  EXPECT_EQ(attach_target_unusable(kprobe("nowhere"), k), "no function nowhere in the kernel's symbols");
}

TEST(AttachTargetUnusable, ModuleFexitLooksOnlyInThatModulesBtf) {
  FakeKernel k;
  k.btf[""] = {"remove_store"};  // the PCI core's, which is not rbd's
  k.btf["rbd"] = {"remove_single_major_store"};
  EXPECT_EQ(attach_target_unusable(fexit("remove_single_major_store", "rbd"), k), "");
  EXPECT_EQ(attach_target_unusable(fexit("remove_store", "rbd"), k), "rbd's BTF has no function remove_store");
  for (const auto& question : k.asked) EXPECT_EQ(question.rfind("btf:rbd:", 0), 0u) << question;
}

TEST(AttachTargetUnusable, ModuleKprobeLooksOnlyAmongThatModulesSymbols) {
  FakeKernel k;
  k.btf[""] = {"remove_store"};
  k.symbols = {"remove_store", "rbd:remove_single_major_store"};  // rbd's remove_store is not there
  EXPECT_EQ(attach_target_unusable(kprobe("remove_single_major_store", "rbd"), k), "");
  // vmlinux's function of the same name is not rbd's, in BTF or in kallsyms.
  EXPECT_EQ(attach_target_unusable(kprobe("remove_store", "rbd"), k), "no function remove_store among rbd's symbols");
  for (const auto& question : k.asked) EXPECT_EQ(question.rfind("sym:rbd:", 0), 0u) << question;
  k.symbols_readable = false;
  EXPECT_EQ(attach_target_unusable(kprobe("remove_store", "rbd"), k), "");
}

TEST(AttachTargetUnusable, ModuleWithoutBtfIsUnusableAnUnreadableOneUnjudged) {
  FakeKernel k;
  k.btf[""] = {};
  EXPECT_EQ(attach_target_unusable(fexit("remove_store", "rbd"), k), "the kernel has no BTF for rbd");
  k.unreadable = {"rbd"};
  EXPECT_EQ(attach_target_unusable(fexit("remove_store", "rbd"), k), "");
}

}  // namespace
}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// The BTF check end to end, on a made-up kernel: a sysfs tree whose
// vmlinux BTF lacks path_mount and whose rbd BTF has only
// remove_single_major_store. The real prober reads it (as it reads
// HostPaths::sys() from a container), the real hook table is chosen from,
// and nothing is loaded: no root.

#include <bpf/btf.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>

#include "sources/bpf/kernel_btf.h"
#include "sources/bpf/kernel_features.h"
#include "sources/kernel_tiers.h"

namespace mountleak {
namespace {

namespace fs = std::filesystem;

void add_functions(btf* b, std::initializer_list<const char*> names) {
  const int int_type = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
  const int proto = btf__add_func_proto(b, int_type);
  for (const char* name : names) ASSERT_GT(btf__add_func(b, name, BTF_FUNC_GLOBAL, proto), 0) << name;
}

void write_btf(const btf* b, const fs::path& path) {
  uint32_t size = 0;
  const void* data = btf__raw_data(b, &size);
  ASSERT_NE(data, nullptr);
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), size);
  ASSERT_TRUE(out.good()) << path;
}

// Every program type loads, rbd is loaded; which functions exist is the
// prober's to say.
class EverythingLoads : public FeatureSource {
 public:
  explicit EverythingLoads(FeatureSource& btf_source) : btf_source_(btf_source) {}
  FeatureProbe probe(ProgramKind) override { return {true, "pretend"}; }
  bool module_loaded(const std::string&) override { return true; }
  std::string program_unusable(const std::string& program) override { return btf_source_.program_unusable(program); }

 private:
  FeatureSource& btf_source_;
};

class MadeUpKernelBtf : public ::testing::Test {
 protected:
  void SetUp() override {
    char dir_template[] = "/tmp/mountleak-btf-XXXXXX";
    ASSERT_NE(mkdtemp(dir_template), nullptr);
    sys_ = dir_template;
    fs::create_directories(sys_ / "kernel" / "btf");
    vmlinux_ = btf__new_empty();
    // The functions the kernel tier attaches to, but path_mount.
    add_functions(vmlinux_, {"copy_mnt_ns", "mntns_install", "attach_recursive_mnt", "path_umount",
                             "propagate_mnt", "propagate_umount", "__x64_sys_mount_setattr",
                             "bd_prepare_to_claim", "blkdev_ioctl", "remove_store"});
    write_btf(vmlinux_, sys_ / "kernel" / "btf" / "vmlinux");
    // Its symbols: the same functions (a kprobe finds path_mount in neither).
    kallsyms_ = (sys_ / "kallsyms").string();
    std::ofstream(kallsyms_) << "ffffffff81000000 T copy_mnt_ns\nffffffff81000100 T mntns_install\n"
                                "ffffffff81000200 t attach_recursive_mnt\nffffffff81000300 T path_umount\n"
                                "ffffffff81000400 T propagate_mnt\nffffffff81000500 T propagate_umount\n"
                                "ffffffff81000600 T __x64_sys_mount_setattr\n"
                                "ffffffff81000700 T bd_prepare_to_claim\nffffffff81000800 T blkdev_ioctl\n"
                                "ffffffff81000900 t remove_store\n";
  }
  void TearDown() override {
    btf__free(vmlinux_);
    fs::remove_all(sys_);
  }
  void write_rbd_btf(std::initializer_list<const char*> functions) { write_module_btf("rbd", functions); }
  // The module's BTF and, as the kernel lists them, its functions in kallsyms.
  void write_module_btf(const char* module, std::initializer_list<const char*> functions) {
    btf* b = btf__new_empty_split(vmlinux_);
    add_functions(b, functions);
    write_btf(b, sys_ / "kernel" / "btf" / module);
    btf__free(b);
    std::ofstream symbols(kallsyms_, std::ios::app);
    for (const char* f : functions) symbols << "ffffffffc0000000 t " << f << "\t[" << module << "]\n";
  }

  fs::path sys_;
  std::string kallsyms_;
  btf* vmlinux_ = nullptr;
};

TEST_F(MadeUpKernelBtf, KernelBtfReadsVmlinuxAndModuleBtf) {
  write_rbd_btf({"remove_single_major_store"});
  KernelBtf btf(sys_.string());
  auto found = btf.btf_function("", "path_umount");
  ASSERT_TRUE(found) << found.error().message;
  EXPECT_EQ(*found, Presence::kPresent);
  EXPECT_EQ(*btf.btf_function("", "path_mount"), Presence::kAbsent);
  EXPECT_EQ(*btf.btf_function("rbd", "remove_single_major_store"), Presence::kPresent);
  // vmlinux's remove_store is not rbd's.
  EXPECT_EQ(*btf.btf_function("rbd", "remove_store"), Presence::kAbsent);
  auto missing = btf.btf_function("nbd", "nbd_ioctl");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errno_value, ENOENT);
  EXPECT_NE(missing.error().message.find("no BTF for nbd"), std::string::npos) << missing.error().message;
}

TEST_F(MadeUpKernelBtf, ProberPassesOverCandidatesWhoseFunctionsAreMissing) {
  write_rbd_btf({"remove_single_major_store"});
  write_module_btf("dm_mod", {"dm_lock_for_deletion"});
  KernelProber prober(BpfObjectSource{}, sys_.string(), kallsyms_);
  EXPECT_EQ(prober.program_unusable("ml_fexit_path_mount"), "no function path_mount in vmlinux's BTF");
  EXPECT_EQ(prober.program_unusable("ml_fexit_path_umount"), "");
  EXPECT_EQ(prober.program_unusable("ml_kretprobe_path_umount"), "");
  EXPECT_EQ(prober.program_unusable("ml_fexit_remove_store"), "rbd's BTF has no function remove_store");
  EXPECT_EQ(prober.program_unusable("ml_exit_write"), "");  // a tracepoint: nothing to look up

  EverythingLoads features(prober);
  for (const auto& choice : choose_hooks(mountleak_hooks(), features)) {
    if (choice.hook == "mount") {
      EXPECT_EQ(choice.tier, Tier::kTracepoint);
      EXPECT_NE(choice.reason.find("kernel tier unavailable (ml_fexit_path_mount: no function path_mount in "
                                   "vmlinux's BTF)"),
                std::string::npos)
          << choice.reason;
      EXPECT_NE(choice.reason.find("kernel tier unavailable (ml_kprobe_path_mount: no function path_mount in "
                                   "vmlinux's BTF or the kernel's symbols)"),
                std::string::npos)
          << choice.reason;
    } else if (choice.hook == "rbd_remove_busy") {
      EXPECT_EQ(choice.tier, Tier::kKernel);
      EXPECT_EQ(choice.programs,
                (std::vector<std::string>{"ml_fexit_remove_single_major_store", "ml_exit_write_legacy"}));
      EXPECT_NE(choice.reason.find("ml_fexit_remove_store: rbd's BTF has no function remove_store"),
                std::string::npos)
          << choice.reason;
      // vmlinux's remove_store is no kprobe target for rbd's either.
      EXPECT_NE(choice.reason.find("ml_kprobe_remove_store: no function remove_store among rbd's symbols"),
                std::string::npos)
          << choice.reason;
    } else {
      EXPECT_EQ(choice.tier, Tier::kKernel) << choice.hook << ": " << choice.reason;
    }
  }
}

// Where fexit would bind vmlinux's remove_store (before 6.3) but rbd has its
// own, the kprobes on "rbd:remove_store" serve the hook, ahead of watching
// write(2), which every syscall would pay for.
TEST_F(MadeUpKernelBtf, RbdTakesItsKprobesWhereFexitCannotReachRemoveStore) {
  write_rbd_btf({"remove_single_major_store", "remove_store"});
  KernelProber prober(BpfObjectSource{}, sys_.string(), kallsyms_);
  EXPECT_EQ(prober.program_unusable("ml_kprobe_remove_store"), "");
  EXPECT_EQ(prober.program_unusable("ml_kretprobe_remove_single_major_store"), "");

  class ShadowedRemoveStore : public EverythingLoads {
   public:
    using EverythingLoads::EverythingLoads;
    std::string program_unusable(const std::string& program) override {
      if (program == "ml_fexit_remove_store") return "bound to vmlinux's (fixed in 6.3)";
      return EverythingLoads::program_unusable(program);
    }
  } features(prober);
  for (const auto& choice : choose_hooks(mountleak_hooks(), features))
    if (choice.hook == "rbd_remove_busy") {
      EXPECT_EQ(choice.tier, Tier::kKernel);
      EXPECT_EQ(choice.programs,
                (std::vector<std::string>{"ml_kprobe_remove_single_major_store", "ml_kretprobe_remove_single_major_store",
                                          "ml_kprobe_remove_store", "ml_kretprobe_remove_store"}))
          << choice.reason;
    }
}

// dm_mod's remove check is looked up in dm_mod's own BTF: with it the
// kernel tier serves dm_remove_busy; without it (a dm_mod built without
// BTF, or a kernel that renamed it) the control device's ioctl does.
TEST_F(MadeUpKernelBtf, DmRemoveNeedsDmLockForDeletionInDmModsBtf) {
  KernelProber prober(BpfObjectSource{}, sys_.string(), kallsyms_);
  EverythingLoads features(prober);
  auto dm_choice = [&] {
    for (const auto& choice : choose_hooks(mountleak_hooks(), features))
      if (choice.hook == "dm_remove_busy") return choice;
    ADD_FAILURE() << "no dm_remove_busy hook";
    return HookChoice{};
  };
  write_module_btf("dm_mod", {"dm_get_md"});
  HookChoice without = dm_choice();
  EXPECT_EQ(without.tier, Tier::kTracepoint);
  EXPECT_EQ(without.programs, std::vector<std::string>{"ml_exit_ioctl_dm_remove"});
  EXPECT_NE(without.reason.find("dm_mod's BTF has no function dm_lock_for_deletion"), std::string::npos)
      << without.reason;

  write_module_btf("dm_mod", {"dm_get_md", "dm_lock_for_deletion"});
  HookChoice with = dm_choice();
  EXPECT_EQ(with.tier, Tier::kKernel) << with.reason;
  EXPECT_EQ(with.programs, std::vector<std::string>{"ml_fexit_dm_lock_for_deletion"});
  EXPECT_EQ(prober.program_unusable("ml_kprobe_dm_lock_for_deletion"), "");
  EXPECT_EQ(prober.program_unusable("ml_kretprobe_dm_lock_for_deletion"), "");
}

// Without trampolines (arm64 before 6.0) dm's check is still watched, by
// kprobes on "dm_mod:dm_lock_for_deletion", not at every ioctl(2).
TEST_F(MadeUpKernelBtf, DmRemoveTakesKprobesWithoutFexit) {
  write_module_btf("dm_mod", {"dm_lock_for_deletion"});
  KernelProber prober(BpfObjectSource{}, sys_.string(), kallsyms_);
  class NoTrampolines : public EverythingLoads {
   public:
    using EverythingLoads::EverythingLoads;
    FeatureProbe probe(ProgramKind kind) override {
      if (kind == ProgramKind::kFexit || kind == ProgramKind::kFentry) return {false, "refused"};
      return EverythingLoads::probe(kind);
    }
  } features(prober);
  for (const auto& choice : choose_hooks(mountleak_hooks(), features))
    if (choice.hook == "dm_remove_busy") {
      EXPECT_EQ(choice.tier, Tier::kKernel) << choice.reason;
      EXPECT_EQ(choice.programs,
                (std::vector<std::string>{"ml_kprobe_dm_lock_for_deletion", "ml_kretprobe_dm_lock_for_deletion"}));
    }
}

TEST_F(MadeUpKernelBtf, ModuleWithoutBtfIsPassedOverWithTheReason) {
  KernelProber prober(BpfObjectSource{}, sys_.string(), kallsyms_);
  const std::string why = prober.program_unusable("ml_fexit_remove_single_major_store");
  EXPECT_NE(why.find("the kernel has no BTF for rbd"), std::string::npos) << why;
  // Loaded afterwards: asked again, not remembered.
  write_rbd_btf({"remove_single_major_store", "remove_store"});
  EXPECT_EQ(prober.program_unusable("ml_fexit_remove_single_major_store"), "");
}

}  // namespace
}  // namespace mountleak

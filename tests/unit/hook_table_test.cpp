// SPDX-License-Identifier: Apache-2.0
// The hook table and the BPF object name the same programs, both ways:
// every program in the embedded object serves exactly one hook or is a
// probe program, and every program the tables name is in the object, in a
// section of the kind the table claims. A program added to bpf/ without a
// hook, or dropped from bpf/ with one, fails here rather than on a kernel
// where that candidate is picked. Opening an object (without loading it)
// needs no privilege.

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sources/bpf/bpf_object.h"
#include "sources/bpf/entry_maps.h"
#include "sources/bpf/object_programs.h"
#include "sources/kernel_tiers.h"

namespace mountleak {
namespace {

std::string kind_text(const std::optional<ProgramKind>& kind) {
  return kind ? std::string(program_kind_name(*kind)) : "a kind mountleak has no name for";
}

class HookTableAndObject : public ::testing::Test {
 protected:
  void SetUp() override {
    auto obj = open_bpf_object(BpfObjectSource{});
    ASSERT_TRUE(obj) << obj.error().message;
    for (auto& program : object_programs(obj->get())) programs_.emplace(program.name, program);
    ASSERT_FALSE(programs_.empty()) << "the embedded BPF object has no programs";
  }

  std::map<std::string, ObjectProgram> programs_;  // by name
};

TEST_F(HookTableAndObject, EveryProgramInTheObjectServesOneHookOrIsAProbe) {
  // One hook may name a program in more than one of its candidates (rbd's
  // remove_single_major_store is in both of its kernel candidates); two
  // hooks may not, or choosing one hook's tier would load the other's.
  std::map<std::string, std::set<std::string>> hooks_naming;
  for (const auto& hook : mountleak_hooks())
    for (const auto& candidate : hook.candidates)
      for (const auto& program : candidate.programs) hooks_naming[program.name].insert(hook.name);
  std::set<std::string> probes;
  for (const auto& probe : probe_programs()) probes.insert(probe.program.name);

  for (const auto& [name, program] : programs_) {
    const std::set<std::string> hooks = hooks_naming[name];
    std::string named_by;
    for (const auto& hook : hooks) named_by += (named_by.empty() ? "" : ", ") + hook;
    if (probes.count(name)) {
      EXPECT_TRUE(hooks.empty()) << name << " is a probe program and also serves hook(s) " << named_by;
      continue;
    }
    EXPECT_EQ(hooks.size(), 1u)
        << "program " << name << " (SEC(\"" << program.section << "\")) in the BPF object is named by "
        << (hooks.empty() ? "no hook" : "hooks " + named_by)
        << ": give it to one hook's candidates in mountleak_hooks() (userspace/sources/kernel_tiers.cpp), "
           "or to probe_programs(), or take it out of bpf/";
  }
}

TEST_F(HookTableAndObject, EveryProgramTheTableNamesIsInTheObjectWithItsKind) {
  auto check = [&](const std::string& where, const HookProgram& program) {
    auto it = programs_.find(program.name);
    if (it == programs_.end()) {
      ADD_FAILURE() << where << " names program " << program.name
                    << ", which the BPF object does not have (bpf/*.bpf.c)";
      return;
    }
    EXPECT_TRUE(it->second.kind == program.kind)
        << where << " claims " << program.name << " is a " << program_kind_name(program.kind)
        << " program, but the object has it in SEC(\"" << it->second.section << "\"), "
        << kind_text(it->second.kind);
  };
  for (const auto& hook : mountleak_hooks())
    for (const auto& candidate : hook.candidates)
      for (const auto& program : candidate.programs) check("hook " + hook.name, program);
  for (const auto& probe : probe_programs())
    check("the " + std::string(program_kind_name(probe.probes)) + " probe", probe.program);
}

// A kretprobe's arguments come from its kprobe's entry map, ml_kprobe_F's
// being F_args: the loader shrinks the maps of kprobes it does not load by
// that name (sources/bpf/entry_maps.h), so a map misnamed would stay
// shrunk under its own kprobe, and every call would be a missed entry.
TEST_F(HookTableAndObject, EveryKprobeWithAKretprobeHasItsEntryMapAndNoEntryMapIsAnOrphan) {
  auto obj = open_bpf_object(BpfObjectSource{});
  ASSERT_TRUE(obj) << obj.error().message;
  std::set<std::string> entry_maps;
  bpf_map* map;
  bpf_object__for_each_map(map, obj->get()) {
    const std::string program = entry_map_program(bpf_map__name(map));
    if (program.empty()) continue;
    entry_maps.insert(program);
    EXPECT_TRUE(programs_.count(program)) << "entry map " << bpf_map__name(map) << " has no program " << program;
  }
  for (const auto& [name, program] : programs_) {
    if (name.rfind("ml_kretprobe_", 0) != 0) continue;
    const std::string entry = "ml_kprobe_" + name.substr(std::string("ml_kretprobe_").size());
    EXPECT_TRUE(programs_.count(entry)) << name << " has no kprobe " << entry;
    EXPECT_TRUE(entry_maps.count(entry)) << entry << " has no entry map "
                                         << entry.substr(std::string("ml_kprobe_").size()) << "_args";
  }
  EXPECT_EQ(entry_map_program("path_mount_args"), "ml_kprobe_path_mount");
  EXPECT_EQ(entry_map_program("events"), "");
  EXPECT_EQ(entry_map_program("_args"), "");
}

TEST_F(HookTableAndObject, EveryProgramKindHasAProbeProgram) {
  for (ProgramKind kind : kAllProgramKinds)
    EXPECT_NE(probe_program_for(kind), nullptr) << program_kind_name(kind);
}

}  // namespace
}  // namespace mountleak

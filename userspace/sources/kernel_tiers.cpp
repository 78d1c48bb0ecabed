// SPDX-License-Identifier: Apache-2.0
#include "sources/kernel_tiers.h"

#include <map>

namespace mountleak {

namespace {
const std::map<ProgramKind, std::string_view> kKindNames = {
    {ProgramKind::kTracepoint, "tracepoint"}, {ProgramKind::kRawTracepoint, "raw_tracepoint"},
    {ProgramKind::kFentry, "fentry"},         {ProgramKind::kFexit, "fexit"},
    {ProgramKind::kKprobe, "kprobe"},         {ProgramKind::kLsm, "lsm"},
    {ProgramKind::kRingbuf, "ringbuf"}};
}  // namespace

std::string_view program_kind_name(ProgramKind kind) { return kKindNames.at(kind); }

std::optional<ProgramKind> program_kind_from_name(std::string_view name) {
  for (const auto& [kind, kind_name] : kKindNames)
    if (kind_name == name) return kind;
  return std::nullopt;
}

FeatureProbe RestrictedFeatures::probe(ProgramKind kind) {
  if (disabled_.count(kind)) return {false, "disabled by --no-feature"};
  return inner_.probe(kind);
}

std::optional<std::set<ProgramKind>> parse_disabled_features(const std::vector<std::string>& names,
                                                             std::string* bad_name) {
  std::set<ProgramKind> out;
  for (const auto& name : names) {
    if (name == "fentry" || name == "fexit") {
      out.insert(ProgramKind::kFentry);
      out.insert(ProgramKind::kFexit);
      continue;
    }
    auto kind = program_kind_from_name(name);
    if (!kind || *kind == ProgramKind::kRingbuf) {
      if (bad_name) *bad_name = name;
      return std::nullopt;
    }
    out.insert(*kind);
  }
  return out;
}

std::string_view tier_name(Tier tier) {
  switch (tier) {
    case Tier::kKernel: return "kernel";
    case Tier::kTracepoint: return "tracepoint";
    case Tier::kReconcile: return "reconcile";
    case Tier::kPassive: return "passive";
  }
  return "?";
}

namespace {
const std::map<TierChoice, std::string_view> kTierChoiceNames = {{TierChoice::kAuto, "auto"},
                                                                 {TierChoice::kKernel, "kernel"},
                                                                 {TierChoice::kTracepoint, "tracepoint"},
                                                                 {TierChoice::kPassive, "passive"}};
}  // namespace

std::string_view tier_choice_name(TierChoice choice) { return kTierChoiceNames.at(choice); }

std::optional<TierChoice> tier_choice_from_name(std::string_view name) {
  for (const auto& [choice, choice_name] : kTierChoiceNames)
    if (choice_name == name) return choice;
  return std::nullopt;
}

namespace {
// The table's spelling of a program and the section kind it claims.
HookProgram fentry(std::string name) { return {ProgramKind::kFentry, std::move(name)}; }
HookProgram fexit(std::string name) { return {ProgramKind::kFexit, std::move(name)}; }
HookProgram kprobe(std::string name) { return {ProgramKind::kKprobe, std::move(name)}; }
HookProgram tracepoint(std::string name) { return {ProgramKind::kTracepoint, std::move(name)}; }
HookProgram raw_tracepoint(std::string name) { return {ProgramKind::kRawTracepoint, std::move(name)}; }
HookProgram lsm(std::string name) { return {ProgramKind::kLsm, std::move(name)}; }
}  // namespace

const std::vector<Hook>& mountleak_hooks() {
  static const std::string kPolled = "no hook: the kernel wakes a poll on each namespace's mountinfo (POLLPRI) when its table changes";
  // The kernel-tier candidates join these lists, ahead of the tracepoint
  // ones, without any change to the collector. Every fexit candidate has a
  // kprobe/kretprobe one after it, for kernels with kprobes but no BPF
  // trampolines (arm64 before 6.0): same events, same tier.
  static const std::vector<Hook> hooks = {
      {"mntns_create", "mount namespace copies (clone/unshare with CLONE_NEWNS)",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_copy_mnt_ns")}},
        {Tier::kKernel, ProgramKind::kKprobe, {kprobe("ml_kprobe_copy_mnt_ns"), kprobe("ml_kretprobe_copy_mnt_ns")}},
        {Tier::kTracepoint, ProgramKind::kRawTracepoint,
         {raw_tracepoint("ml_fork"), tracepoint("ml_enter_unshare"), tracepoint("ml_exit_unshare")}},
        // A task that unshared (or a thread that did) is seen at its next
        // fork or exec; one that does neither, at the next sweep of /proc.
        {Tier::kPassive, ProgramKind::kRawTracepoint, {raw_tracepoint("ml_fork"), raw_tracepoint("ml_exec")}}}},
      {"setns", "tasks entering another mount namespace",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_mntns_install")}},
        {Tier::kKernel, ProgramKind::kKprobe, {kprobe("ml_kprobe_mntns_install"), kprobe("ml_kretprobe_mntns_install")}},
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_enter_setns"), tracepoint("ml_exit_setns")}},
        {Tier::kPassive, std::nullopt, {}, "", "no hook: a task that entered a namespace is seen at its exec (ml_exec)"}}},
      {"mount", "mount(2), open_tree, move_mount, fsmount",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_path_mount"), fexit("ml_fexit_attach_recursive_mnt")}},
        {Tier::kKernel, ProgramKind::kKprobe,
         {kprobe("ml_kprobe_path_mount"), kprobe("ml_kretprobe_path_mount"), kprobe("ml_kprobe_attach_recursive_mnt"),
          kprobe("ml_kretprobe_attach_recursive_mnt")}},
        {Tier::kTracepoint, ProgramKind::kTracepoint,
         {tracepoint("ml_enter_mount"), tracepoint("ml_exit_mount"), tracepoint("ml_enter_open_tree"),
          tracepoint("ml_exit_open_tree"), tracepoint("ml_enter_move_mount"), tracepoint("ml_exit_move_mount"),
          tracepoint("ml_enter_fsmount"), tracepoint("ml_exit_fsmount")}},
        {Tier::kPassive, std::nullopt, {}, "", kPolled}}},
      {"mount_setattr", "mount_setattr(2), incl. propagation changes",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_sys_mount_setattr")}},
        {Tier::kKernel, ProgramKind::kKprobe,
         {kprobe("ml_kprobe_sys_mount_setattr"), kprobe("ml_kretprobe_sys_mount_setattr")}},
        {Tier::kTracepoint, ProgramKind::kTracepoint,
         {tracepoint("ml_enter_mount_setattr"), tracepoint("ml_exit_mount_setattr")}},
        {Tier::kPassive, std::nullopt, {}, "", kPolled}}},
      {"umount", "unmounts and their EBUSY failures",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_path_umount")}},
        {Tier::kKernel, ProgramKind::kKprobe, {kprobe("ml_kprobe_path_umount"), kprobe("ml_kretprobe_path_umount")}},
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_enter_umount"), tracepoint("ml_exit_umount")}},
        {Tier::kPassive, std::nullopt, {}, "", kPolled}}},
      {"propagation", "copies and unmounts that propagate into other namespaces",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_propagate_mnt"), fexit("ml_fexit_propagate_umount")}},
        {Tier::kKernel, ProgramKind::kKprobe,
         {kprobe("ml_kprobe_propagate_mnt"), kprobe("ml_kretprobe_propagate_mnt"), kprobe("ml_kprobe_propagate_umount"),
          kprobe("ml_kretprobe_propagate_umount")}},
        {Tier::kPassive, std::nullopt, {}, "", kPolled},
        {Tier::kReconcile, std::nullopt, {}}}},
      {"rbd_remove_busy", "rbd unmap failing with EBUSY",
       // The sysfs store functions, not do_rbd_remove: see bpf/kernel_busy.bpf.c.
       // Where fexit cannot reach rbd's remove_store (module_fexit.h),
       // kprobes can ("rbd:remove_store" names the module's); only without
       // them is the legacy file watched at write(2), which every syscall
       // of the node pays for.
       {{Tier::kKernel, ProgramKind::kFexit,
         {fexit("ml_fexit_remove_single_major_store"), fexit("ml_fexit_remove_store")}, "rbd"},
        {Tier::kKernel, ProgramKind::kKprobe,
         {kprobe("ml_kprobe_remove_single_major_store"), kprobe("ml_kretprobe_remove_single_major_store"),
          kprobe("ml_kprobe_remove_store"), kprobe("ml_kretprobe_remove_store")}, "rbd"},
        {Tier::kKernel, ProgramKind::kFexit,
         {fexit("ml_fexit_remove_single_major_store"), tracepoint("ml_exit_write_legacy")}, "rbd"},
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_exit_write")}}}},
      {"open_excl_busy", "exclusive claims of a block device failing with EBUSY",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_bd_prepare_to_claim")}},
        {Tier::kKernel, ProgramKind::kKprobe,
         {kprobe("ml_kprobe_bd_prepare_to_claim"), kprobe("ml_kretprobe_bd_prepare_to_claim")}},
#if defined(__aarch64__)
        // arm64's syscall table (the generic one) has no open(2), so no
        // sys_exit_open tracepoint: a tier naming ml_exit_open could never
        // attach there, and the hook would have none (seen in the arm64 vm lane).
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_exit_openat")}}}},
#else
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_exit_openat"), tracepoint("ml_exit_open")}}}},
#endif
      {"detach_busy", "block-device ioctls (loop detach and its kin) failing with EBUSY",
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_blkdev_ioctl")}},
        {Tier::kKernel, ProgramKind::kKprobe, {kprobe("ml_kprobe_blkdev_ioctl"), kprobe("ml_kretprobe_blkdev_ioctl")}},
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_exit_ioctl")}}}},
      {"dm_remove_busy", "device-mapper remove (dmsetup remove) failing with EBUSY",
       // dm's own check before deleting a device, in dm_mod's BTF; else the
       // control device's ioctl at syscall exit (see bpf/busy.bpf.c).
       {{Tier::kKernel, ProgramKind::kFexit, {fexit("ml_fexit_dm_lock_for_deletion")}, "dm_mod"},
        {Tier::kKernel, ProgramKind::kKprobe,
         {kprobe("ml_kprobe_dm_lock_for_deletion"), kprobe("ml_kretprobe_dm_lock_for_deletion")}, "dm_mod"},
        {Tier::kTracepoint, ProgramKind::kTracepoint, {tracepoint("ml_exit_ioctl_dm_remove")}}}},
  };
  return hooks;
}

const std::vector<ProbeProgram>& probe_programs() {
  static const std::vector<ProbeProgram> programs = {
      {ProgramKind::kTracepoint, tracepoint("ml_probe_tracepoint")},
      {ProgramKind::kRawTracepoint, raw_tracepoint("ml_probe_raw_tracepoint")},
      {ProgramKind::kFentry, fentry("ml_probe_fentry")},
      {ProgramKind::kFexit, fexit("ml_probe_fexit")},
      {ProgramKind::kKprobe, kprobe("ml_probe_kprobe")},
      {ProgramKind::kLsm, lsm("ml_probe_lsm")},
      {ProgramKind::kRingbuf, tracepoint("ml_probe_ringbuf")},
  };
  return programs;
}

const HookProgram* probe_program_for(ProgramKind kind) {
  for (const auto& probe : probe_programs())
    if (probe.probes == kind) return &probe.program;
  return nullptr;
}

bool tier_allows(TierChoice choice, Tier tier) {
  switch (choice) {
    case TierChoice::kAuto: return tier != Tier::kPassive;
    case TierChoice::kKernel: return tier == Tier::kKernel;
    case TierChoice::kTracepoint: return tier == Tier::kTracepoint || tier == Tier::kReconcile;
    case TierChoice::kPassive: return tier == Tier::kPassive || tier == Tier::kReconcile;
  }
  return false;
}

bool has_candidate_on(const Hook& hook, TierChoice choice) {
  for (const auto& candidate : hook.candidates)
    if (tier_allows(choice, candidate.tier)) return true;
  return false;
}

namespace {
// A hook none of whose candidates `tier` allows.
std::string unserved_on(TierChoice tier) {
  if (tier == TierChoice::kPassive)
    return "off on the passive tier (--tier passive): only a hook on the failing call sees an EBUSY";
  return "no " + std::string(tier_choice_name(tier)) + "-tier candidate (--tier " +
         std::string(tier_choice_name(tier)) + ")";
}
}  // namespace

std::vector<HookChoice> choose_hooks(const std::vector<Hook>& hooks, FeatureSource& features,
                                     const std::set<std::string>& refused, TierChoice tier) {
  std::vector<HookChoice> out;
  for (const auto& hook : hooks) {
    HookChoice choice{hook.name, std::nullopt, {}, ""};
    std::string passed_over;
    for (const auto& candidate : hook.candidates) {
      if (!tier_allows(tier, candidate.tier)) continue;
      std::string why_not;
      if (candidate.needs) {
        FeatureProbe probe = features.probe(*candidate.needs);
        if (!probe.available)
          why_not = std::string(program_kind_name(*candidate.needs)) + ": " + probe.detail;
      }
      if (why_not.empty() && !candidate.module.empty() && !features.module_loaded(candidate.module))
        why_not = module_not_loaded(candidate.module);
      for (const auto& program : candidate.programs)
        if (why_not.empty()) {
          const std::string unusable = features.program_unusable(program.name);
          if (!unusable.empty()) why_not = program.name + ": " + unusable;
        }
      for (const auto& program : candidate.programs)
        if (why_not.empty() && refused.count(program.name))
          why_not = "program " + program.name + " refused by the kernel";
      if (!why_not.empty()) {
        const std::string why = std::string(tier_name(candidate.tier)) + " tier unavailable (" + why_not + ")";
        if (passed_over.find(why) == std::string::npos)  // two kernel candidates, one reason
          passed_over += (passed_over.empty() ? "" : "; ") + why;
        continue;
      }
      choice.tier = candidate.tier;
      for (const auto& program : candidate.programs) choice.programs.push_back(program.name);
      choice.reason = candidate.needs ? std::string(program_kind_name(*candidate.needs)) + " programs load"
                      : candidate.note.empty() ? "no kernel hook needed: mountinfo is re-read"
                                               : candidate.note;
      if (!passed_over.empty()) choice.reason += " (" + passed_over + ")";
      break;
    }
    if (!choice.tier)
      choice.reason = !has_candidate_on(hook, tier) ? unserved_on(tier)
                      : passed_over.empty()          ? "no candidates"
                                                     : passed_over;
    out.push_back(std::move(choice));
  }
  return out;
}

std::string module_not_loaded(const std::string& module) { return "the " + module + " module is not loaded"; }

const HookCandidate* chosen_candidate(const Hook& hook, const HookChoice& choice) {
  if (!choice.tier) return nullptr;
  for (const auto& candidate : hook.candidates) {
    if (candidate.tier != *choice.tier || candidate.programs.size() != choice.programs.size()) continue;
    bool same = true;
    for (size_t i = 0; i < candidate.programs.size() && same; ++i)
      same = candidate.programs[i].name == choice.programs[i];
    if (same) return &candidate;
  }
  return nullptr;
}

std::string choice_kind(const Hook& hook, const HookChoice& choice) {
  const HookCandidate* candidate = chosen_candidate(hook, choice);
  if (!candidate) return "none";
  if (!candidate->needs) return std::string(tier_name(candidate->tier));
  return std::string(program_kind_name(*candidate->needs));
}

std::set<std::string> modules_that_move(const Hook& hook, const HookChoice& choice) {
  std::set<std::string> out;
  // Waiting: a candidate was passed over for its module alone (not for a
  // program type this kernel lacks, which the module's coming cannot change).
  for (const auto& candidate : hook.candidates)
    if (!candidate.module.empty() && choice.reason.find(module_not_loaded(candidate.module)) != std::string::npos)
      out.insert(candidate.module);
  // On the module: it can go, unless a trampoline holds it.
  const HookCandidate* chosen = chosen_candidate(hook, choice);
  if (chosen && !chosen->module.empty()) {
    bool holds = false;
    for (const auto& program : chosen->programs)
      holds = holds || program.kind == ProgramKind::kFexit || program.kind == ProgramKind::kFentry;
    if (!holds) out.insert(chosen->module);
  }
  return out;
}

}  // namespace mountleak

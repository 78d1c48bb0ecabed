// SPDX-License-Identifier: Apache-2.0
#include "output/tier_report.h"

#include <fmt/core.h>

namespace mountleak {

nlohmann::json probe_json(const ProbeReport& r) {
  return {{"event", "probe"},
          {"kernel", kernel_info_json(r.kernel)},
          {"tracefs", {{"available", r.tracefs_available}, {"detail", r.tracefs_detail}}},
          {"programs", program_probes_json(r.programs)},
          {"load", {{"loaded", r.loaded}, {"detail", r.load_detail}, {"refused", r.refused}}},
          {"hooks", hook_choices_json(r.hooks)},
          {"tier", tier_summary_json(r.hooks)}};
}

nlohmann::json kernel_info_json(const KernelInfo& kernel) {
  nlohmann::json j = {{"release", kernel.release},
                      {"btf", kernel.btf},
                      {"lockdown", kernel.lockdown},
                      {"lsm", kernel.active_lsms}};
  j["bpf_jit"] = kernel.bpf_jit ? nlohmann::json(*kernel.bpf_jit) : nlohmann::json(nullptr);
  j["unprivileged_bpf_disabled"] = kernel.unprivileged_bpf_disabled
                                       ? nlohmann::json(*kernel.unprivileged_bpf_disabled)
                                       : nlohmann::json(nullptr);
  return j;
}

nlohmann::json program_probes_json(const std::vector<std::pair<ProgramKind, FeatureProbe>>& probes) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [kind, probe] : probes)
    j[std::string(program_kind_name(kind))] = {{"available", probe.available},
                                               {"detail", probe.detail}};
  return j;
}

nlohmann::json hook_choices_json(const std::vector<HookChoice>& hooks) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& hook : hooks) {
    nlohmann::json h = {{"hook", hook.hook}, {"programs", hook.programs}, {"reason", hook.reason}};
    h["tier"] = hook.tier ? nlohmann::json(std::string(tier_name(*hook.tier))) : nlohmann::json(nullptr);
    j.push_back(std::move(h));
  }
  return j;
}

nlohmann::json tier_summary_json(const std::vector<HookChoice>& hooks) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& hook : hooks)
    j[hook.hook] = hook.tier ? nlohmann::json(std::string(tier_name(*hook.tier))) : nlohmann::json(nullptr);
  return j;
}

std::string probe_table(const KernelInfo& kernel,
                        const std::vector<std::pair<ProgramKind, FeatureProbe>>& probes,
                        const std::vector<HookChoice>& hooks) {
  std::string out;
  out += fmt::format("kernel     {}\n", kernel.release);
  out += fmt::format("BTF        {}\n", kernel.btf ? "yes (CO-RE works)" : "NO: CO-RE programs cannot load");
  out += fmt::format("lockdown   {}\n", kernel.lockdown);
  out += fmt::format("BPF JIT    {}\n", kernel.bpf_jit ? std::to_string(*kernel.bpf_jit) : "unknown");
  out += fmt::format("LSMs       {}\n\n", kernel.active_lsms.empty() ? "unknown" : kernel.active_lsms);
  out += "PROGRAM TYPE    AVAILABLE  DETAIL\n";
  for (const auto& [kind, probe] : probes)
    out += fmt::format("{:<15} {:<10} {}\n", program_kind_name(kind), probe.available ? "yes" : "no",
                       probe.detail);
  out += "\nHOOK             TIER        WHY\n";
  for (const auto& hook : hooks)
    out += fmt::format("{:<16} {:<11} {}\n", hook.hook,
                       hook.tier ? std::string(tier_name(*hook.tier)) : "NONE", hook.reason);
  // What a module hook means for the operator: a trampoline holds its
  // module; a hook waiting for one moves when it comes.
  for (const auto& choice : hooks)
    for (const auto& hook : mountleak_hooks()) {
      if (hook.name != choice.hook) continue;
      const HookCandidate* chosen = chosen_candidate(hook, choice);
      if (chosen && !chosen->module.empty() && modules_that_move(hook, choice).count(chosen->module) == 0)
        out += fmt::format("\nnote: {} holds the {} module while trace runs (fexit): `rmmod {}` fails until "
                           "trace stops; `--no-feature fentry` hooks it with kprobes, which do not hold it\n",
                           choice.hook, chosen->module, chosen->module);
      else if (choice.reason.find(" module is not loaded") != std::string::npos)
        out += fmt::format("\nnote: {} stays here if its module is loaded after trace starts, unless trace "
                           "runs with --watch-modules (which keeps CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN)\n",
                           choice.hook);
    }
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "cli/probe_command.h"

#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cli/common_options.h"
#include "output/tier_report.h"
#include "sources/bpf/kernel_features.h"
#include "sources/bpf/tracefs.h"
#include "sources/kernel_info.h"

namespace mountleak {

namespace {

int run_probe(const CommonOptions& options) {
  set_libbpf_verbose(options.verbose);
  KernelInfo kernel = read_kernel_info(options.paths);
  TracefsStatus tracefs = ensure_tracefs();
  KernelProber prober(BpfObjectSource{options.bpf_object});
  RestrictedFeatures features(prober, options.disabled_features());

  std::vector<std::pair<ProgramKind, FeatureProbe>> programs;
  for (ProgramKind kind : kAllProgramKinds) programs.emplace_back(kind, features.probe(kind));
  auto hooks = choose_hooks(mountleak_hooks(), features);

  if (options.output == OutputFormat::kJson) {
    nlohmann::json out = {{"event", "probe"},
                          {"kernel", kernel_info_json(kernel)},
                          {"tracefs", {{"available", tracefs.available}, {"detail", tracefs.detail}}},
                          {"programs", program_probes_json(programs)},
                          {"hooks", hook_choices_json(hooks)},
                          {"tier", tier_summary_json(hooks)}};
    fmt::print("{}\n", out.dump());
  } else {
    fmt::print("tracefs    {}\n{}", tracefs.detail, probe_table(kernel, programs, hooks));
  }
  // The probe itself succeeded even when the kernel offers little; only a
  // kernel where no hook at all can be served is an error for our purposes.
  for (const auto& hook : hooks)
    if (hook.tier) return 0;
  return 1;
}

}  // namespace

void register_probe_command(CLI::App& app, CommandAction& action) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* cmd = app.add_subcommand("probe", "Report what this kernel offers and which tier serves each hook");
  cmd->footer("Report what this kernel offers (BTF, lockdown, JIT, which BPF program types load and attach)\n"
      "and which tier will serve each of mountleak's hooks. Run it first on a new node.");
  add_common_options(*cmd, *options);
  add_bpf_options(*cmd, *options);
  cmd->callback([options, &action] { action = [options] { return run_probe(*options); }; });
}

}  // namespace mountleak

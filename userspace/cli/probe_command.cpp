// SPDX-License-Identifier: Apache-2.0
#include "cli/probe_command.h"

#include <fmt/core.h>

#include "cli/common_options.h"
#include "output/json_line.h"
#include "output/tier_report.h"
#include "sources/bpf/kernel_features.h"
#include "sources/bpf/tracefs.h"
#include "sources/bpf/tracer.h"
#include "sources/event_sink.h"
#include "sources/kernel_info.h"
#include "sources/statmount_reader.h"
#include "util/capabilities.h"

namespace mountleak {

namespace {

class DiscardEvents : public EventSink {
 public:
  void on_event(const KernelEvent&) override {}
};

struct TrialLoad {
  bool loaded = false;
  std::string detail;
  std::vector<HookChoice> hooks;
  std::vector<std::string> refused;
};

// A program type that loads says nothing about one target function (rbd's,
// say, exist only while the module is loaded, and only with its BTF). So
// the hooks are those `trace` itself ends up with: the same loader, its
// refusals and fallbacks, attached for a moment and let go.
TrialLoad trial_load(const CommonOptions& options, FeatureSource& features) {
  DiscardEvents discard;
  TracerOptions topts{BpfObjectSource{options.bpf_object}, 64u * 1024};
  topts.tier = options.tier;
  auto tracer = BpfTracer::start(topts, features, discard);
  if (!tracer) return {false, tracer.error().message, {}, {}};
  return {true, "loaded and attached what trace would", (*tracer)->hooks(), (*tracer)->refusals()};
}

int run_probe(const CommonOptions& options) {
  set_libbpf_verbose(options.verbose);
  // Without them every program type looks unsupported, which would be a
  // wrong answer about the kernel.
  if (auto caps = check_capabilities("mountleak probe", probe_needs()); !caps) {
    fmt::print(stderr, "{}\n", caps.error().message);
    return kExitError;
  }
  KernelInfo kernel = read_kernel_info(options.paths);
  const TracefsStatus& tracefs = find_tracefs();
  KernelProber prober(BpfObjectSource{options.bpf_object}, options.paths.sys());
  RestrictedFeatures features(prober, options.disabled_features());

  std::vector<std::pair<ProgramKind, FeatureProbe>> programs;
  for (ProgramKind kind : kAllProgramKinds) programs.emplace_back(kind, features.probe(kind));
  TrialLoad trial = trial_load(options, features);
  // Without a trial (no privileges, nothing loads), the program types alone.
  auto hooks = trial.loaded ? trial.hooks : choose_hooks(mountleak_hooks(), features, {}, options.tier);

  // How scan would read mount tables here (scan --mount-table auto).
  const MountTableChoice table = choose_mount_table_on(options.paths.proc(), MountTableMethod::kAuto);

  if (options.output == OutputFormat::kJson) {
    ProbeReport report{kernel, tracefs.available, tracefs.detail, programs, trial.loaded, trial.detail,
                       trial.refused, hooks};
    nlohmann::json j = probe_json(report);
    j["tier_asked"] = tier_choice_name(options.tier);
    j["mount_table"] = {{"method", table.method},
                        {"note", table.reason.empty() ? nlohmann::json(nullptr) : nlohmann::json(table.reason)}};
    fmt::print("{}\n", json_line(j));
  } else {
    fmt::print("tracefs    {}\n", tracefs.detail);
    if (options.tier != TierChoice::kAuto) fmt::print("tier       --tier {}\n", tier_choice_name(options.tier));
    fmt::print("mounts     scan reads mount tables via {}{}\n", table.method,
               table.reason.empty() ? "" : " (" + table.reason + ")");
    fmt::print("load       {}\n", trial.loaded ? trial.detail
                                               : "FAILED: " + trial.detail +
                                                     " (hooks below judged from program types alone)");
    for (const auto& refusal : trial.refused) fmt::print("refused    {}\n", refusal);
    fmt::print("{}", probe_table(kernel, programs, hooks));
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
      "and which tier will serve each of mountleak's hooks: it loads and attaches, for a moment, what\n"
      "`trace` would, with the same fallbacks. Run it first on a new node.");
  add_common_options(*cmd, *options);
  add_bpf_options(*cmd, *options);
  cmd->callback([options, &action] { action = [options] { return run_probe(*options); }; });
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "cli/common_options.h"

#include "cli/host_paths_options.h"

namespace mountleak {

std::set<ProgramKind> CommonOptions::disabled_features() const {
  std::string bad;
  auto parsed = parse_disabled_features(no_feature, &bad);
  if (!parsed)
    throw CLI::ValidationError("--no-feature", "unknown feature '" + bad +
                                                   "' (known: tracepoint, raw_tracepoint, fentry, "
                                                   "fexit, kprobe, lsm)");
  return *parsed;
}

void add_output_option(CLI::App& app, OutputFormat& format, const char* json_means) {
  app.add_option_function<std::string>(
         "-o,--output",
         [&format](const std::string& v) { format = v == "json" ? OutputFormat::kJson : OutputFormat::kTable; },
         std::string("Output format: table (for people) or json (") + json_means + ")")
      ->check(CLI::IsMember({"table", "json"}).description(""))
      ->type_name("table|json")
      ->default_str("table");
}

void add_common_options(CLI::App& app, CommonOptions& options) {
  add_host_path_options(app, options.paths);
  add_output_option(app, options.output);
  app.add_flag("-v,--verbose", options.verbose, "Print libbpf's own messages");
}

void add_cmdline_option(CLI::App& app, CmdlinePolicy& policy) {
  app.add_option_function<std::string>(
         "--cmdline",
         [&policy](const std::string& v) { policy = v == "full" ? CmdlinePolicy::kFull : CmdlinePolicy::kRedacted; },
         "Holders' command lines: redacted (values of password=, --token, URL passwords and the like "
         "replaced by <redacted>) or full")
      ->check(CLI::IsMember({"redacted", "full"}).description(""))
      ->type_name("redacted|full")
      ->default_str("redacted");
}

void add_bpf_options(CLI::App& app, CommonOptions& options) {
  app.add_option_function<std::string>(
         "--tier", [&options](const std::string& v) { options.tier = *tier_choice_from_name(v); },
         "Where the hooks run. auto: the best this kernel offers, hook by hook (kernel functions, else syscall "
         "tracepoints). kernel or tracepoint: that tier only, or trace refuses to start. passive: no syscall "
         "hook at all, so ordinary syscalls cost nothing: new namespaces are seen at fork and exec (raw "
         "tracepoints) and by a sweep of /proc every 2 s, mount changes by polling each namespace's mountinfo "
         "(POLLPRI); leaks and hostPath risks are found, busy findings (EBUSY) are off")
      ->check(CLI::IsMember({"auto", "kernel", "tracepoint", "passive"}).description(""))
      ->type_name("auto|kernel|tracepoint|passive")
      ->default_str("auto");
  app.add_option("--no-feature", options.no_feature,
                 "Pretend the kernel lacks these program types, forcing the fallback tier "
                 "(fentry, kprobe, lsm, raw_tracepoint)")
      ->delimiter(',');
  app.add_option("--bpf-object", options.bpf_object,
                 "Load BPF programs from this .bpf.o instead of the copy built into mountleak");
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Options every subcommand accepts, so `mountleak scan --kubelet-root X`
// works the same as `mountleak trace --kubelet-root X`.

#include <CLI/CLI.hpp>

#include <set>
#include <string>
#include <vector>

#include "config/host_paths.h"
#include "findings/cmdline_redaction.h"
#include "sources/kernel_tiers.h"

namespace mountleak {

enum class OutputFormat { kTable, kJson };

struct CommonOptions {
  HostPaths paths;
  OutputFormat output = OutputFormat::kTable;
  std::vector<std::string> no_feature;
  TierChoice tier = TierChoice::kAuto;
  std::string bpf_object;  // empty: the object embedded in this binary
  bool verbose = false;

  // Parsed form of no_feature; throws CLI::ValidationError on a bad name.
  std::set<ProgramKind> disabled_features() const;
};

// -o,--output table|json into `format`; `json_means` says what one JSON
// object a line is, for --help.
void add_output_option(CLI::App& app, OutputFormat& format,
                       const char* json_means = "one object per line");
// Host paths, output format and verbosity: every command.
void add_common_options(CLI::App& app, CommonOptions& options);
// --cmdline redacted|full, into `policy`: the commands that name holders.
void add_cmdline_option(CLI::App& app, CmdlinePolicy& policy);
// --no-feature and --bpf-object: the commands that load BPF programs.
void add_bpf_options(CLI::App& app, CommonOptions& options);

}  // namespace mountleak

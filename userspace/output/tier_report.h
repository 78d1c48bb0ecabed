// SPDX-License-Identifier: Apache-2.0
#pragma once

// How `probe` and trace's ready event describe the kernel and the chosen
// tiers, as JSON and as a table.

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "sources/kernel_info.h"
#include "sources/kernel_tiers.h"

namespace mountleak {

// What `probe` found: the kernel, tracefs, each program type, a trial load
// of the whole object and the tier each hook gets.
struct ProbeReport {
  KernelInfo kernel;
  bool tracefs_available = false;
  std::string tracefs_detail;
  std::vector<std::pair<ProgramKind, FeatureProbe>> programs;
  bool loaded = false;
  std::string load_detail;
  std::vector<std::string> refused;
  std::vector<HookChoice> hooks;
};
nlohmann::json probe_json(const ProbeReport& report);

nlohmann::json kernel_info_json(const KernelInfo& kernel);
nlohmann::json program_probes_json(const std::vector<std::pair<ProgramKind, FeatureProbe>>& probes);
nlohmann::json hook_choices_json(const std::vector<HookChoice>& hooks);
// {"<hook>": "<tier>"} for a quick look, e.g. in the ready event.
nlohmann::json tier_summary_json(const std::vector<HookChoice>& hooks);

std::string probe_table(const KernelInfo& kernel,
                        const std::vector<std::pair<ProgramKind, FeatureProbe>>& probes,
                        const std::vector<HookChoice>& hooks);

}  // namespace mountleak

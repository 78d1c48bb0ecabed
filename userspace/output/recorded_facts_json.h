// SPDX-License-Identifier: Apache-2.0
#pragma once

// What the collector read from the node (findings/recorded_facts.h) as
// JSON, for the log; postmortem/recorded_facts_parse.h reads it back.
// Mount tables are written as mountinfo lines, in the kernel's own escaping,
// so a table costs about what /proc showed.

#include <nlohmann/json.hpp>

#include "findings/recorded_facts.h"

namespace mountleak {

nlohmann::json recorded_fact_json(const NodeFact& fact);

// A mount table as mountinfo text, one line per mount.
std::string mountinfo_text(const std::vector<MountEntry>& mounts);

}  // namespace mountleak

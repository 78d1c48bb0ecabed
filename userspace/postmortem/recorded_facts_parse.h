// SPDX-License-Identifier: Apache-2.0
#pragma once

// The recorded facts of a log line (output/recorded_facts_json.h) back into
// values, every field bounded and checked: the inverse of
// recorded_fact_json().

#include <string_view>

#include <nlohmann/json.hpp>

#include "findings/recorded_facts.h"
#include "util/result.h"

namespace mountleak {

// True when "event" names a recorded fact ("recorded_...").
bool is_recorded_fact(std::string_view event_name);

Result<NodeFact> parse_recorded_fact(const nlohmann::json& line);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace's readable live view: one heading line per finding, then who holds
// the device and what to do. Rendered from the same JSON objects that
// `-o json` prints, so both views always say the same thing.

#include <nlohmann/json.hpp>

#include <string>

namespace mountleak {

std::string live_view_text(const nlohmann::json& event);

}  // namespace mountleak

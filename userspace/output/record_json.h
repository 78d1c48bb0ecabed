// SPDX-License-Identifier: Apache-2.0
#pragma once

// Every record as the JSON object `-o json` prints and the log keeps, one
// "event" key naming its kind, "time" when it was made.

#include <nlohmann/json.hpp>

#include "findings/record.h"

namespace mountleak {

nlohmann::json record_json(const Record& record);
nlohmann::json event_json(const Event& event);  // without "time"

}  // namespace mountleak

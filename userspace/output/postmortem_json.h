// SPDX-License-Identifier: Apache-2.0
#pragma once

// `report -o json`: one object per device ({"event":"report_device",...})
// and one summary ({"event":"report_summary",...}), each made a line by
// json_line(), which keeps the exact bytes of strings that are not UTF-8
// in "<key>_b64" as every other line mountleak writes does.

#include <nlohmann/json.hpp>

#include <string_view>

#include "postmortem/device_report.h"

namespace mountleak {

// "mounted", "copied", ...: the step's name in both renderings.
std::string_view step_kind_name(StepKind kind);

nlohmann::json device_report_json(const DeviceReport& d);
nlohmann::json report_summary_json(const PostmortemReport& r);

}  // namespace mountleak

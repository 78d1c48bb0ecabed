// SPDX-License-Identifier: Apache-2.0
#pragma once

// `report`'s readable form: per device its timeline, its holders at the
// moment asked about, and the lineage of each copy. Every string from the
// log goes through printable(): containers wrote them.

#include <string>

#include "postmortem/device_report.h"

namespace mountleak {

std::string device_report_block(const DeviceReport& d);
// One line per step: time, what, where, who, and the details.
std::string history_step_line(const HistoryStep& s, const std::string& indent);
std::string report_summary_lines(const PostmortemReport& r);

}  // namespace mountleak

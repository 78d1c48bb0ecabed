// SPDX-License-Identifier: Apache-2.0
#pragma once

// The readable form of a device and its holders, for an operator at a
// terminal: what the device is, who holds it and why, what to do.

#include <string>

#include "findings/finding.h"
#include "findings/holders.h"

namespace mountleak {

std::string device_heading(const DeviceHolders& device);
std::string holder_lines(const Holder& holder, const std::string& indent = "  ");
std::string device_block(const DeviceHolders& device);

// scan --risks: the column heading, then one block per risk (the
// namespace's container and pod, the bind, how it came, the fix).
std::string risks_heading();
std::string risk_block(const HostpathRisk& risk);

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace's readable live view: one heading line per finding, then who holds
// the device and what to do. Rendered from the same records that `-o json`
// prints, so both views always say the same thing. Text from the node is
// made printable here; the caller makes the whole block terminal-safe.

#include <string>

#include "findings/record.h"

namespace mountleak {

std::string live_view_text(const Record& record);

}  // namespace mountleak

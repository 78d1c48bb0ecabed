// SPDX-License-Identifier: Apache-2.0
#pragma once

// Sizes as options and configuration give them ("100M").

#include <cstdint>
#include <string_view>

#include "util/result.h"

namespace mountleak {

// A size in bytes: decimal digits, optionally followed by K, M or G (either
// case; powers of 1024). Nothing else: no sign, spaces, fractions or "MB",
// so that a typo is an error rather than a guess.
Result<uint64_t> parse_byte_size(std::string_view text);

}  // namespace mountleak

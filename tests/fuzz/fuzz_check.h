// SPDX-License-Identifier: Apache-2.0
#pragma once

// A property a fuzz target checks: abort() turns a broken one into a crash
// libFuzzer records, with the input that caused it.

#include <cstdlib>

namespace mountleak::fuzz {

inline void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace mountleak::fuzz

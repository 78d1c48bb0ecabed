// SPDX-License-Identifier: Apache-2.0
#pragma once

// The one place that knows the ring buffer's wire layout
// (include/mountleak/events.h): bytes from a BPF program in, a KernelEvent
// out. Anything that does not fit its kind is refused, never guessed at.

#include <cstddef>
#include <optional>

#include "model/kernel_event.h"

namespace mountleak {

// None when the kind is unknown, or the record (`size` bytes, a header and
// its kind's payload) is not exactly its kind's size.
std::optional<KernelEvent> decode_event(const void* data, size_t size);

}  // namespace mountleak

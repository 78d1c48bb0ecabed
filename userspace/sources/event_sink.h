// SPDX-License-Identifier: Apache-2.0
#pragma once

// The collector consumes raw events through this interface, whichever
// tier produced them and whether they come from the ring buffer or from a
// recorded log, so unit tests feed recorded events without a kernel.

#include "model/kernel_event.h"

namespace mountleak {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const KernelEvent& event) = 0;
};

}  // namespace mountleak

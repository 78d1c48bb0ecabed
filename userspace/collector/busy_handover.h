// SPDX-License-Identifier: Apache-2.0
#pragma once

// While a hook moves between tiers (a kernel module came or went, see
// sources/bpf/tracer.h), its new programs are attached before its old ones
// are detached, so a call failing in that moment can be seen twice: by the
// kernel function's program, then by the syscall-exit tracepoint of the
// same call. One failing call is one finding: a tracepoint-tier busy event
// that follows a kernel-tier one of the same thread and source, within the
// same call's span, is that call again. Only events read while a move is
// recent are compared: elsewhere the two tiers of a hook never both run
// (6.1's rbd hook pairs a kernel program with a tracepoint, but on other
// files, so a thread alternating between them is two calls).

#include <chrono>
#include <cstdint>
#include <deque>

#include "model/kernel_event.h"

namespace mountleak {

class BusyHandover {
 public:
  using Clock = std::chrono::steady_clock;
  // A hook moved at `now`: the events of the overlap are read from the
  // ring buffer within kWindow of it.
  void moved(Clock::time_point now) { until_ = now + kWindow; }
  // True when `e` (a busy event of `source`, read at `now`) repeats a
  // kernel-tier event already seen; it is then forgotten, so a later call
  // counts again.
  bool repeated(const KernelEvent& e, BusySource source, Clock::time_point now);

  static constexpr std::chrono::seconds kWindow{5};

  // The kernel-tier events remembered: the last few, whatever their age.
  static constexpr size_t kRemembered = 16;
  // A syscall's exit follows its kernel function's return by far less than
  // this, even under emulation; a second call by the same thread that fails
  // the same way, and that only the tracepoint saw, takes a new call.
  static constexpr uint64_t kSameCallNs = 100'000'000;

 private:
  struct Seen {
    uint32_t tid;
    BusySource source;
    uint64_t ts_ns;
  };
  std::deque<Seen> kernel_;
  Clock::time_point until_{};
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "collector/busy_handover.h"

namespace mountleak {

bool BusyHandover::repeated(const KernelEvent& e, BusySource source, Clock::time_point now) {
  if (now > until_) {
    kernel_.clear();
    return false;
  }
  if (e.tier == EventTier::kKernel) {
    if (kernel_.size() >= kRemembered) kernel_.pop_front();
    kernel_.push_back({e.tid, source, e.ts_ns});
    return false;
  }
  for (auto it = kernel_.begin(); it != kernel_.end(); ++it)
    if (it->tid == e.tid && it->source == source && e.ts_ns >= it->ts_ns && e.ts_ns - it->ts_ns < kSameCallNs) {
      kernel_.erase(it);
      return true;
    }
  return false;
}

}  // namespace mountleak

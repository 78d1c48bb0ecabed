// SPDX-License-Identifier: Apache-2.0
#include "model/kernel_event.h"

namespace mountleak {

std::string_view event_tier_name(EventTier tier) {
  switch (tier) {
    case EventTier::kTracepoint: return "tracepoint";
    case EventTier::kKernel: return "kernel";
    case EventTier::kPassive: return "passive";
  }
  return "?";
}

std::string_view table_change_seen_name(TableChangeSeen seen) {
  switch (seen) {
    case TableChangeSeen::kPoll: return "poll";
    case TableChangeSeen::kWatch: return "watch";
    case TableChangeSeen::kTimer: return "timer";
  }
  return "?";
}

}  // namespace mountleak

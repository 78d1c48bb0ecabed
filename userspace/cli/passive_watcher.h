// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace --tier passive: a mountinfo watch (sources/mountinfo_watch.h) on
// every namespace the collector's model holds, started before the
// namespace is re-read, and what the kernel says changed handed to the
// collector. A namespace no task of which can be watched (all gone, or no
// descriptor left) is re-read every few seconds instead, so it is late,
// never forgotten.

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "collector/collector.h"
#include "sources/mountinfo_watch.h"
#include "util/result.h"

namespace mountleak {

class PassiveWatcher {
 public:
  // `proc`: the host's procfs. Raises the soft limit on open descriptors to
  // the hard one: a watch takes two.
  static Result<PassiveWatcher> start(const std::string& proc);

  // Once a turn of trace's loop, before collector.tick().
  void tick(Collector& collector, Clock::time_point now);

  // For stats: namespaces watched now, namespaces re-read on a timer
  // instead, and changes the kernel told of.
  std::vector<std::pair<std::string, uint64_t>> counters() const;

 private:
  explicit PassiveWatcher(MountinfoWatch watch) : watch_(std::move(watch)) {}
  void sync(Collector& collector);

  MountinfoWatch watch_;
  // Namespaces none of whose tasks could be watched, with the model's list
  // of their tasks then: tried again once that list changes.
  std::map<uint64_t, std::vector<int>> unwatched_;
  Clock::time_point last_reread_{};
  uint64_t changes_ = 0;
  uint64_t watches_closed_ = 0;
  bool said_no_room_ = false;
};

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// The namespaces whose tables changed since they were last read. Events
// only say *that* a namespace changed; it is re-read once its events
// settle (so a container's setup is judged whole, not half way), but never
// later than max_delay after the first.

#include <cstdint>
#include <map>
#include <vector>

#include "collector/collector_options.h"

namespace mountleak {

class DirtySet {
 public:
  void mark(uint64_t inode, Clock::time_point now) {
    auto [it, fresh] = dirty_.try_emplace(inode, Marks{now, now});
    if (!fresh) it->second.last = now;
  }
  void erase(uint64_t inode) { dirty_.erase(inode); }
  void clear() { dirty_.clear(); }
  bool contains(uint64_t inode) const { return dirty_.count(inode) > 0; }

  // Those due now; with `all`, every one.
  std::vector<uint64_t> due(Clock::time_point now, const CollectorOptions& options, bool all) const {
    std::vector<uint64_t> out;
    for (const auto& [inode, d] : dirty_)
      if (all || now - d.last >= options.settle || now - d.first >= options.max_delay) out.push_back(inode);
    return out;
  }

 private:
  struct Marks {
    Clock::time_point first;
    Clock::time_point last;
  };
  std::map<uint64_t, Marks> dirty_;
};

}  // namespace mountleak

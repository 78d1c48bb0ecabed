// SPDX-License-Identifier: Apache-2.0
#pragma once

// trace's module watch: a kernel module that comes or goes while trace
// runs (rbd mapped for the first time, dm_mod loaded by LVM) moves the
// hooks that have candidates on it (BpfTracer::module_changed). Polled
// from trace's loop, never blocking it: sysfs is read once a second
// (module_state.h), and a module that just came gets a few more tries,
// backing off, since its BTF and symbols are published as it loads.
// What moved, or would not, is returned as HookMoved records.

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "findings/report.h"
#include "sources/bpf/tracer.h"

namespace mountleak {

class LateModules {
 public:
  using Clock = std::chrono::steady_clock;
  LateModules(BpfTracer& tracer, std::string sys_root, const std::set<std::string>& modules);

  // Call on every turn of the loop; cheap when nothing is due.
  std::vector<HookMoved> tick(Clock::time_point now);

  static constexpr std::chrono::seconds kCheckPeriod{1};
  // Tries after a change: at once, then after 250 ms, 500 ms, 1 s, 2 s.
  static constexpr int kTries = 5;
  static constexpr std::chrono::milliseconds kFirstBackoff{250};

 private:
  struct Watched {
    bool loaded = false;
    int tries_left = 0;
    std::chrono::milliseconds backoff{0};
    Clock::time_point next_try{};
    bool moved = false;  // some hook moved since the change
  };
  void try_move(const std::string& module, Watched& w, Clock::time_point now, std::vector<HookMoved>& out);

  BpfTracer& tracer_;
  std::string sys_root_;
  std::map<std::string, Watched> watched_;
  Clock::time_point next_check_{};
};

}  // namespace mountleak

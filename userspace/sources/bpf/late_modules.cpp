// SPDX-License-Identifier: Apache-2.0
#include "sources/bpf/late_modules.h"

#include "sources/module_state.h"

namespace mountleak {

LateModules::LateModules(BpfTracer& tracer, std::string sys_root, const std::set<std::string>& modules)
    : tracer_(tracer), sys_root_(std::move(sys_root)) {
  // The state the tracer's choice was made in, as choose_hooks said it: a
  // module loaded since is then a change at the first check.
  for (const auto& module : modules) {
    const std::string absent = module_not_loaded(module);
    bool loaded = true;
    for (const auto& choice : tracer_.hooks())
      if (choice.reason.find(absent) != std::string::npos) loaded = false;
    watched_[module].loaded = loaded;
  }
}

std::vector<HookMoved> LateModules::tick(Clock::time_point now) {
  std::vector<HookMoved> out;
  const bool check = now >= next_check_;
  if (check) next_check_ = now + kCheckPeriod;
  for (auto& [module, w] : watched_) {
    if (check) {
      const ModuleState state = module_state(sys_root_, module);
      // Coming or going: the next check sees where it ends.
      if (state == ModuleState::kLive || state == ModuleState::kAbsent) {
        const bool loaded = state == ModuleState::kLive;
        if (loaded != w.loaded) {
          w = Watched{loaded, kTries, kFirstBackoff, now, false};
        }
      }
    }
    if (w.tries_left > 0 && now >= w.next_try) try_move(module, w, now, out);
  }
  return out;
}

void LateModules::try_move(const std::string& module, Watched& w, Clock::time_point now,
                           std::vector<HookMoved>& out) {
  --w.tries_left;
  auto moves = tracer_.module_changed(module, w.loaded);
  const bool settled = tracer_.settled(module, w.loaded);
  for (auto& move : moves) {
    // A failed load is said once, when no try is left.
    if (!move.error.empty() && !settled && w.tries_left > 0) continue;
    if (move.error.empty()) w.moved = true;
    out.push_back(std::move(move));
  }
  if (settled) {
    w.tries_left = 0;
    return;
  }
  if (w.tries_left > 0) {
    w.next_try = now + w.backoff;
    w.backoff *= 2;
    return;
  }
  // Out of tries and no failure to show: say which hooks stay, and why
  // (their candidates on the module are not usable: a --no-feature, a
  // function the module's BTF lacks).
  if (w.moved || !moves.empty()) return;
  for (const auto& choice : tracer_.hooks()) {
    HookMoved stays;
    stays.hook = choice.hook;
    stays.module = module;
    stays.module_loaded = w.loaded;
    stays.from = choice.tier;
    stays.from_programs = choice.programs;
    stays.to = choice;
    for (const auto& hook : mountleak_hooks())
      if (hook.name == choice.hook) {
        bool names = false;
        for (const auto& candidate : hook.candidates) names = names || candidate.module == module;
        if (!names) break;
        stays.from_kind = stays.to_kind = choice_kind(hook, choice);
        stays.error = "no candidate on " + module + " is usable: " + choice.reason;
        out.push_back(stays);
      }
  }
}

}  // namespace mountleak

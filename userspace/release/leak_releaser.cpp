// SPDX-License-Identifier: Apache-2.0
#include "release/leak_releaser.h"

#include <thread>

#include "release/release_run.h"

namespace mountleak {

namespace {

std::string scope_text(const std::vector<ScopeSelector>& scope) {
  std::string out;
  for (const auto& s : scope) out += (out.empty() ? "" : ", ") + scope_selector_text(s);
  return out;
}

}  // namespace

LeakReleaser::LeakReleaser(std::string proc, std::vector<ScopeSelector> scope, MembersOf members, RecordSink& out,
                           std::chrono::milliseconds deadline)
    : proc_(std::move(proc)), scope_(std::move(scope)), members_(std::move(members)), out_(out), deadline_(deadline) {}

LeakReleaser::~LeakReleaser() = default;  // a child still running is killed by its AsyncChild

void LeakReleaser::write(const Record& record) {
  const auto* leak = std::get_if<Leak>(&record.event);
  if (!leak) return;
  DeviceHolders device;
  device.device = leak->device;
  device.holders = leak->holders;
  for (ReleaseStep& step : plan_release(device, members_(leak->holders))) {
    if (step.action == ReleaseAction::kPlanned && !in_release_scope(step.holder, scope_)) {
      step.action = ReleaseAction::kRefused;
      step.unmount.clear();
      step.reason = "out of --release-scope (" + scope_text(scope_) + ")" +
                    (step.holder.who.pod ? "" : ": the holder belongs to no pod");
    }
    if (step.action == ReleaseAction::kPlanned && waiting_.size() >= kMaxWaitingReleases) {
      step.action = ReleaseAction::kRefused;
      step.reason = std::to_string(kMaxWaitingReleases) +
                    " releases are already waiting for a child: not queued; run `mountleak release` for it";
    }
    (step.action == ReleaseAction::kPlanned ? waiting_ : final_).push_back(std::move(step));
  }
}

void LeakReleaser::report(ReleaseStep step) {
  switch (step.action) {
    case ReleaseAction::kDone: ++counters_.done; break;
    case ReleaseAction::kFailed: ++counters_.failed; break;
    case ReleaseAction::kRefused: ++counters_.refused; break;
    case ReleaseAction::kKept: ++counters_.kept; break;
    case ReleaseAction::kPlanned: break;
  }
  out_.write(Record{std::chrono::system_clock::now(), Release{std::move(step)}});
}

void LeakReleaser::tick() {
  while (!final_.empty()) {
    ReleaseStep step = std::move(final_.front());
    final_.pop_front();
    report(std::move(step));
  }
  for (auto it = running_.begin(); it != running_.end();) {
    if (!it->child.poll()) {
      ++it;
      continue;
    }
    record_outcomes(it->step, it->child.outcomes());
    ReleaseStep step = std::move(it->step);
    it = running_.erase(it);
    report(std::move(step));
  }
  while (running_.size() < kMaxRunningReleases && !waiting_.empty()) {
    ReleaseStep step = std::move(waiting_.front());
    waiting_.pop_front();
    auto child = PendingUnmount::start(proc_, step.holder.mntns, step.device.dev, step.door, step.unmount,
                                       step.lazy, deadline_);
    if (!child) {
      record_outcomes(step, child.error());
      report(std::move(step));
      continue;
    }
    running_.push_back(Running{std::move(step), std::move(*child)});
  }
}

void LeakReleaser::stop(std::chrono::milliseconds grace) {
  const auto until = std::chrono::steady_clock::now() + grace;
  tick();
  while (!running_.empty() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    tick();
  }
  for (Running& r : running_) {
    r.child.kill_now();
    record_outcomes(r.step, r.child.outcomes());
    r.step.reason = "trace stopped before the unmount child answered: " + r.step.reason;
    report(std::move(r.step));
  }
  running_.clear();
  while (!waiting_.empty()) {
    ReleaseStep step = std::move(waiting_.front());
    waiting_.pop_front();
    step.action = ReleaseAction::kRefused;
    step.reason = "trace stopped before it was released; run `mountleak release` for it";
    report(std::move(step));
  }
}

}  // namespace mountleak

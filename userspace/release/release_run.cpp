// SPDX-License-Identifier: Apache-2.0
#include "release/release_run.h"

#include <algorithm>

#include "release/mount_release.h"
#include "util/errno_text.h"

namespace mountleak {

bool ReleaseReport::needs_operator() const {
  return !still_leaked.empty() || std::any_of(steps.begin(), steps.end(), step_needs_operator);
}

void carry_out(const std::string& proc, ReleaseStep& step) {
  record_outcomes(step,
                  unmount_in_namespace(proc, step.holder.mntns, step.device.dev, step.door, step.unmount, step.lazy));
}

void record_outcomes(ReleaseStep& step, const Result<std::vector<UnmountOutcome>>& outcomes) {
  if (!outcomes) {
    step.action = ReleaseAction::kFailed;
    step.reason = outcomes.error().message;
    if (outcomes.error().errno_value) step.errno_name = errno_name(outcomes.error().errno_value);
    return;
  }
  step.action = ReleaseAction::kDone;
  for (const auto& o : *outcomes) {
    if (o.unmounted) {
      step.unmounted.push_back(o.mountpoint);
      continue;
    }
    if (step.action == ReleaseAction::kFailed) continue;  // the first failure is the one said
    step.action = ReleaseAction::kFailed;
    step.reason = o.message;
    step.failed_at = o.mountpoint;
    if (o.error) step.errno_name = errno_name(o.error);
  }
  if (step.action == ReleaseAction::kDone && step.lazy)
    step.reason = "detached (MNT_DETACH): the device stays busy while files on this copy are open";
}

namespace {

// For --all, devices nobody needs to act on (the host and its owner pod
// share it) are not release's business.
bool worth_a_step(const DeviceHolders& d, const ScanRequest& req) {
  return !(req.all && req.devices.empty() && req.images.empty() && req.paths.empty()) || d.needs_action();
}

}  // namespace

Result<ReleaseReport> run_release(const HostPaths& paths, const ReleaseRequest& request,
                                  const std::function<void(const ReleaseStep&)>& on_step) {
  auto before = run_scan(paths, request.scan);
  if (!before) return before.error();
  ReleaseReport report;
  report.dry_run = !request.yes;
  report.warnings = before->warnings;

  const NamespaceMembers members{before->namespace_members, before->pinned_from};
  ReleaseOptions options;
  options.lazy = request.lazy;
  std::vector<DeviceRef> acted_on;
  for (const auto& device : before->devices) {
    if (!worth_a_step(device, request.scan)) continue;
    ++report.devices;
    acted_on.push_back(device.device);
    for (ReleaseStep& step : plan_release(device, members, options)) {
      if (request.yes && step.action == ReleaseAction::kPlanned) carry_out(paths.proc(), step);
      on_step(step);
      report.steps.push_back(std::move(step));
    }
  }

  if (!request.yes) {
    for (const auto& device : before->devices)
      if (device.leaked() && worth_a_step(device, request.scan)) report.still_leaked.push_back(device.device);
    return report;
  }
  if (acted_on.empty()) return report;
  // The scan afterwards asks about exactly these devices, by number.
  ScanRequest again = request.scan;
  again.devices.clear();
  again.images.clear();
  again.paths.clear();
  again.all = false;
  for (const auto& d : acted_on) again.devices.push_back(d.dev.str());
  auto after = run_scan(paths, again);
  if (!after) {
    report.warnings.push_back("scanning again after the release: " + after.error().message);
    report.still_leaked = acted_on;  // not known to be free: say so
    return report;
  }
  for (const auto& w : after->warnings)
    if (std::find(report.warnings.begin(), report.warnings.end(), w) == report.warnings.end())
      report.warnings.push_back(w);
  for (const auto& device : after->devices)
    if (device.leaked()) report.still_leaked.push_back(device.device);
  return report;
}

}  // namespace mountleak

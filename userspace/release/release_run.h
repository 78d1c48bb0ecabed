// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mountleak release` without the printing: scan the devices asked about
// (scan's resolution and holder judgement), plan each holder, unmount the
// leaked copies when asked to (`yes`), and scan again to say whether any
// leak of them remains.

#include <functional>
#include <string>
#include <vector>

#include "release/mount_release.h"
#include "release/release_plan.h"
#include "scanner/scan.h"
#include "util/result.h"

namespace mountleak {

struct ReleaseRequest {
  ScanRequest scan;  // devices, images, all, host_mntns, cmdline
  bool yes = false;  // carry the plan out; otherwise a dry run
  bool lazy = false;
};

struct ReleaseReport {
  bool dry_run = true;
  std::vector<ReleaseStep> steps;  // every holder of every device, final action
  size_t devices = 0;
  // Devices still leaked after the release (or, in a dry run, before it).
  std::vector<DeviceRef> still_leaked;
  std::vector<std::string> warnings;  // scan's, both times
  bool needs_operator() const;        // exit status 1
};

// Fails like run_scan (an unknown device, an unreadable /proc, a bad
// --host-mntns). `on_step` hears each step as soon as it is final (planned,
// kept, refused before anything is done; done or failed as each holder's
// unmounts finish), so output and the log follow the work.
Result<ReleaseReport> run_release(const HostPaths& paths, const ReleaseRequest& request,
                                  const std::function<void(const ReleaseStep&)>& on_step);

// Carries out one planned step (kPlanned -> kDone or kFailed).
void carry_out(const std::string& proc, ReleaseStep& step);
// What the unmount child said, into the step (kDone or kFailed): shared with
// trace --release-leaks, which waits for the child without blocking.
void record_outcomes(ReleaseStep& step, const Result<std::vector<UnmountOutcome>>& outcomes);

}  // namespace mountleak

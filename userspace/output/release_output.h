// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mountleak release`'s steps for people (table) and programs (one
// {"event":"release",...} line per holder, on stdout and in --log), and the
// summary after them.

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "release/release_run.h"

namespace mountleak {

// {"event":"release","time","action","role","reason","device","mntns",
//  "container","pod","pids","mountpoints"(in unmount order),"unmounted",
//  "errno","failed_at","lazy","pinned_at","dry_run"}
nlohmann::json release_step_json(const ReleaseStep& step, bool dry_run, std::chrono::system_clock::time_point time);
// {"event":"release_summary","time","dry_run","devices","still_leaked":[device],"needs_operator"}
nlohmann::json release_summary_json(const ReleaseReport& report, std::chrono::system_clock::time_point time);

// "/dev/loop3 (7:3)": the line above a device's steps.
std::string release_device_heading(const DeviceRef& device);
// A step as a few lines, every field from the node escaped.
std::string release_step_text(const ReleaseStep& step);
std::string release_summary_text(const ReleaseReport& report);

}  // namespace mountleak

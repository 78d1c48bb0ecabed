// SPDX-License-Identifier: Apache-2.0
#pragma once

// The device and holder objects, identical in `scan -o json` and in every
// `trace` finding, so one consumer reads both.

#include <nlohmann/json.hpp>

#include <chrono>

#include "findings/holders.h"

namespace mountleak {

nlohmann::json device_json(const DeviceRef& device);
nlohmann::json holder_json(const Holder& holder);
nlohmann::json holders_json(const std::vector<Holder>& holders);
// What the Ceph cluster says about an rbd device: watchers and lockers, an
// error, or null when it was not asked.
nlohmann::json ceph_json(const DeviceHolders& device);
nlohmann::json attribution_json(const Attribution& who);  // pids, processes, container, pod

// Wall-clock time as RFC 3339 UTC with microseconds.
std::string rfc3339(std::chrono::system_clock::time_point time);
std::string now_rfc3339();

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which devices the log has findings about, and which of them the query
// names. A device is known by MAJ:MIN, as trace matched it; its path, kernel
// name and rbd image come from the findings that named it.

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "postmortem/log_entry.h"
#include "postmortem/log_records.h"
#include "postmortem/report_query.h"

namespace mountleak {

struct DeviceKey {
  uint32_t major = 0;
  uint32_t minor = 0;
  auto operator<=>(const DeviceKey&) const = default;
};

DeviceKey key_of(const LoggedDevice& d);

// Every device some finding names, with its latest description.
std::map<DeviceKey, LoggedDevice> devices_in(const LogRecords& log);

// "/dev/rbd4", "rbd4" (the kernel name) or "252:0".
bool device_matches(const LoggedDevice& d, const std::string& spec);
// "POOL/IMAGE" against the rbd fields.
bool image_matches(const LoggedDevice& d, const std::string& pool_image);
// "NAMESPACE/NAME" or "NAME".
bool pod_matches(const LoggedOwner& owner, const std::string& spec);

// The devices the query's --device and --image name (all when it names
// none), in MAJ:MIN order. --pod is applied by the caller, which knows the
// holders.
std::vector<LoggedDevice> select_devices(const LogRecords& log, const ReportQuery& query);

}  // namespace mountleak

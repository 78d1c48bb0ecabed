// SPDX-License-Identifier: Apache-2.0
#pragma once

// report's answer, as values for output/ to render: per device its
// timeline, its holders at the moment asked about and the lineage of each
// copy; and what reading the log cost.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "postmortem/copy_lineage.h"
#include "postmortem/device_history.h"
#include "postmortem/holders_at.h"
#include "postmortem/log_records.h"
#include "postmortem/report_query.h"

namespace mountleak {

struct DeviceReport {
  LoggedDevice device;
  uint64_t host_mntns = 0;
  std::vector<HistoryStep> timeline;  // within --since/--until
  LogMicros at = 0;                   // the moment of `holders`
  std::vector<HeldCopy> holders;
  std::vector<CopyLineage> lineages;  // of each holder but the host's own mounts
};

struct PostmortemReport {
  std::vector<std::string> files;  // read, oldest first
  std::vector<DeviceReport> devices;
  std::optional<LogMicros> first;  // the log's first and last record
  std::optional<LogMicros> last;
  uint64_t lines = 0;
  uint64_t unparsed = 0;
  uint64_t torn_tails = 0;
  uint64_t lost_events = 0;
  uint64_t host_mntns = 0;
  std::vector<std::string> warnings;
};

PostmortemReport build_postmortem_report(const LogRecords& log, const ReportQuery& query,
                                         std::vector<std::string> files);

}  // namespace mountleak

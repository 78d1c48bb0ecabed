// SPDX-License-Identifier: Apache-2.0
#include "output/log_sink.h"

#include "output/json_line.h"
#include "output/record_json.h"

namespace mountleak {

// Findings reach the disk at once; raw events and recorded facts within
// the log's flush interval (or with the next finding, which they precede).
void LogSink::write(const Record& record) {
  log_.append(json_line(record_json(record)), !record.raw() && !record.fact());
}

}  // namespace mountleak

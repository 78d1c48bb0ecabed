// SPDX-License-Identifier: Apache-2.0
#include "output/log_sink.h"

#include "output/json_line.h"
#include "output/record_json.h"

namespace mountleak {

void LogSink::write(const Record& record) { log_.append(json_line(record_json(record)), !record.raw()); }

}  // namespace mountleak

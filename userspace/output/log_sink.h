// SPDX-License-Identifier: Apache-2.0
#pragma once

// The post-mortem log (event_log.h) as a sink: every record, raw kernel
// events included, one JSON line each; findings reach the disk at once.

#include "findings/record.h"
#include "output/event_log.h"

namespace mountleak {

class LogSink : public RecordSink {
 public:
  explicit LogSink(EventLog& log) : log_(log) {}
  void write(const Record& record) override;
  bool wants_raw() const override { return true; }
  bool wants_facts() const override { return true; }

 private:
  EventLog& log_;
};

}  // namespace mountleak

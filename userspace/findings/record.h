// SPDX-License-Identifier: Apache-2.0
#pragma once

// Everything mountleak reports, one value each, stamped with the time it was
// made; and the interface every consumer implements. A sink (stdout, the
// log, metrics next) is one class; adding one changes nothing else.

#include <chrono>
#include <utility>
#include <variant>
#include <vector>

#include "findings/finding.h"
#include "findings/recorded_facts.h"
#include "findings/report.h"
#include "model/kernel_event.h"

namespace mountleak {

using Event = std::variant<Ready, MntnsCopy, HostpathRisk, Leak, LeakResolved, Release, Busy, Lost, Resync, Degraded, HookMoved,
                           Stats, HoldersFound, ScanSummary, KernelEvent, NodeFact>;

struct Record {
  std::chrono::system_clock::time_point time;
  Event event;
  // A kernel event as it came (`--all-events`, the log), not a finding.
  bool raw() const { return std::holds_alternative<KernelEvent>(event); }
  // What the collector read from the node, for replay (recorded_facts.h).
  bool fact() const { return std::holds_alternative<NodeFact>(event); }
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void write(const Record& record) = 0;
  // Raw kernel events cost a copy each; they are made only when some sink
  // reads them.
  virtual bool wants_raw() const = 0;
  // What the collector read from the node, for `replay`: only the log
  // keeps it.
  virtual bool wants_facts() const { return false; }
};

// Hands each record to every sink in turn.
class SinkSet : public RecordSink {
 public:
  explicit SinkSet(std::vector<RecordSink*> sinks) : sinks_(std::move(sinks)) {}
  // A sink that needs the others first (trace's releaser writes through them).
  void add(RecordSink* sink) { sinks_.push_back(sink); }
  void write(const Record& record) override {
    const bool raw = record.raw();
    const bool fact = record.fact();
    for (RecordSink* sink : sinks_)
      if ((!raw || sink->wants_raw()) && (!fact || sink->wants_facts())) sink->write(record);
  }
  bool wants_facts() const override {
    for (const RecordSink* sink : sinks_)
      if (sink->wants_facts()) return true;
    return false;
  }
  bool wants_raw() const override {
    for (const RecordSink* sink : sinks_)
      if (sink->wants_raw()) return true;
    return false;
  }

 private:
  std::vector<RecordSink*> sinks_;
};

}  // namespace mountleak

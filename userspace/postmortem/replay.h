// SPDX-License-Identifier: Apache-2.0
#pragma once

// `mountleak replay`: the raw kernel events of a trace log fed through a
// collector of its own, without BPF and without the node, answered from
// what the log recorded (recorded_node.h), and the findings they produce
// handed to a sink as `trace` would print them.
//
// The collector settles namespaces by time, so its clock follows the
// records' times: each event is fed at the time it was logged, and the
// collector ticks at the time of each recorded answer that follows it (a
// live tick is what made it). Answers are loaded before the event that
// precedes them is fed: a busy event asks for its holders at once, and
// they were recorded just after it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collector/collector.h"
#include "postmortem/recorded_node.h"
#include "postmortem/replay_line.h"

namespace mountleak {

struct ReplayCounters {
  uint64_t lines = 0;        // lines read
  uint64_t events = 0;       // raw events fed
  uint64_t facts = 0;        // recorded answers read
  uint64_t bad_lines = 0;    // lines that could not be read (see bad_examples)
  uint64_t runs = 0;         // runs of trace (each starts with a snapshot)
  uint64_t unreplayable = 0; // events before any recorded snapshot: no model to feed
  uint64_t unanswered = 0;   // questions the log did not answer
  uint64_t findings = 0;
  std::vector<std::string> bad_examples;  // the first few, with file and line
  std::vector<std::string> unanswered_examples;  // the first few questions
};

class Replayer {
 public:
  explicit Replayer(RecordSink& out) : out_(out) {}
  ~Replayer();

  // One line of the log, in order; `where` names it for warnings
  // ("FILE:LINE").
  void feed_line(std::string_view text, const std::string& where);
  void feed(ReplayLine line);
  // The log ended: what is pending is fed and settled.
  void finish();

  const ReplayCounters& counters() const { return counters_; }

 private:
  void flush();
  void advance(std::chrono::system_clock::time_point t);
  void start_run(const RecordedSnapshot& snapshot);
  void end_run();
  void load_until_next_start(size_t from);

  RecordSink& out_;
  RecordedNode node_;
  HostPaths paths_;
  std::unique_ptr<Collector> collector_;
  // The replayed clocks: the records' times, never going back.
  std::chrono::system_clock::time_point wall_{};
  std::optional<ReplayLine> pending_event_;
  std::vector<ReplayLine> batch_;  // what followed pending_event_
  ReplayCounters counters_;
};

// Replays the log at `path` and its rotations (log_reader.h), oldest first.
// Fails only when no file could be read; what was skipped is in warnings.
Status replay_log(const std::string& path, RecordSink& out, ReplayCounters& counters,
                  std::vector<std::string>& warnings);

}  // namespace mountleak

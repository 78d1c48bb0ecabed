// SPDX-License-Identifier: Apache-2.0
#pragma once

// The whole log read into typed entries, in the order trace wrote them, and
// what could not be read, counted and said: what report's questions are
// answered from. Lines that do not parse are skipped and counted, never
// fatal; the first few are named so the operator can look.

#include <cstdint>
#include <string>
#include <vector>

#include "postmortem/log_entry.h"
#include "postmortem/log_reader.h"
#include "util/result.h"

namespace mountleak {

struct LogRecords {
  std::vector<LogEntry> entries;  // with a time, in log order
  std::vector<LoggedReady> readies;  // each start of trace, in order
  uint64_t lines = 0;
  uint64_t unparsed = 0;        // not JSON, or not a record of ours
  uint64_t torn_tails = 0;      // log_torn_tail lines: a crash's torn line, kept by the next start
  uint64_t lost_events = 0;     // the kernel dropped these (sum of "lost")
  uint64_t failed_calls = 0;    // raw events of calls that failed: not part of any history
  uint64_t raw_not_needed = 0;  // raw events that cannot be a step of any device's history
  std::vector<std::string> warnings;  // from the reader, and the first unparsed lines
};

// The host's mount namespace: as the last `ready` names it (each start of
// trace says it), else the namespace of a holder a finding called "host";
// 0 when the log says neither (its start was rotated away, say).
uint64_t host_mntns_of(const LogRecords& log);

// Reads `files` (log_files() order) through read_log(). Fails only when no
// file could be read.
Result<LogRecords> load_log_records(const std::vector<std::string>& files, LogReadLimits limits = {});

// The same over lines already in memory (tests, the fuzzer's corpus).
void add_log_line(LogRecords& log, std::string_view line, const std::string& where);

}  // namespace mountleak

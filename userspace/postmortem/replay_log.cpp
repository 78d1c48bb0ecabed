// SPDX-License-Identifier: Apache-2.0
// Apart from the Replayer, so the replay fuzz target builds without zlib
// (log_reader.cpp reads gzip-compressed rotations).
#include "postmortem/log_reader.h"
#include "postmortem/replay.h"

namespace mountleak {

namespace {
// A recorded snapshot is the whole node's mount tables on one line: at
// --max-mounts' default (262144 mounts, ~100 bytes each) some 26 MB.
constexpr size_t kMaxSnapshotLine = size_t{128} << 20;
}  // namespace

Status replay_log(const std::string& path, RecordSink& out, ReplayCounters& counters,
                  std::vector<std::string>& warnings) {
  auto files = log_files(path);
  if (!files) return files.error();
  Replayer replayer(out);
  auto read = read_log(
      *files,
      [&](const LogLine& line) {
        replayer.feed_line(line.text, line.file + ":" + std::to_string(line.number));
      },
      warnings, LogReadLimits{kMaxSnapshotLine});
  replayer.finish();
  counters = replayer.counters();
  if (!read) return read.error();
  return ok_status();
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// Apart from the Replayer, so the replay fuzz target builds without zlib
// (log_reader.cpp reads gzip-compressed rotations).
#include "postmortem/log_reader.h"
#include "postmortem/replay.h"

namespace mountleak {

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
      warnings);
  replayer.finish();
  counters = replayer.counters();
  if (!read) return read.error();
  return ok_status();
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// Reads a post-mortem log (output/event_log.h) back, oldest line first,
// across its rotations: FILE.N ... FILE.1, FILE, where logrotate may have
// compressed some (FILE.2.gz). The log is the operator's, but the lines in
// it quote containers nobody vetted, and the directory may hold names
// planted by anyone who can write there: files are opened without following
// a symlink and only if regular, lines are bounded, and whatever is skipped
// is said, never silently dropped.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace mountleak {

struct LogLine {
  const std::string& file;
  uint64_t number;        // 1-based, within its file
  std::string_view text;  // without the newline
};

struct LogReadLimits {
  // A longer line is skipped (with a warning); trace writes none this long.
  size_t max_line_bytes = size_t{4} << 20;
};

// The files a log written to `path` was rotated into, oldest first, then
// `path` itself if it exists: FILE.N or FILE.N.gz for N = 1, 2, ... while
// one of them exists. Fails if none exists.
Result<std::vector<std::string>> log_files(const std::string& path);

// Calls `each` for every whole line of `files`, in order. Skipped and
// reported in `warnings`: a last line without its newline (torn by a crash
// mid-write), a line longer than the limit, a file that cannot be read (the
// others are still read). Fails only when no file could be read at all.
Status read_log(const std::vector<std::string>& files, const std::function<void(const LogLine&)>& each,
                std::vector<std::string>& warnings, LogReadLimits limits = {});

}  // namespace mountleak

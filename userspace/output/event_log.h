// SPDX-License-Identifier: Apache-2.0
#pragma once

// The post-mortem log: JSON lines appended to one file, for months, next to
// workloads nobody vetted. It holds command lines, so only root may read it;
// it is opened so that a planted symlink or FIFO cannot redirect it; every
// line in it is whole; and a write that fails is counted and said, never
// silently dropped.

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "util/result.h"

namespace mountleak {

struct EventLogCounters {
  uint64_t lines = 0;
  uint64_t write_errors = 0;  // lines lost to a failed write (ENOSPC, EIO, ...)
};

class EventLog {
 public:
  // Raw events reach the file within this; findings at once.
  static constexpr std::chrono::milliseconds kRawFlushDelay{100};

  // Opens `path` for appending: O_NOFOLLOW (a symlink is refused), mode 0600
  // (an existing file is narrowed to it), a regular file only. A torn last
  // line (from a crash mid-write) is cut off and kept, base64-encoded, in a
  // log_torn_tail line of its own, so every line parses and no byte is lost.
  static Result<EventLog> open(const std::string& path);

  EventLog(EventLog&& other) noexcept;
  EventLog& operator=(EventLog&&) = delete;
  EventLog(const EventLog&) = delete;
  ~EventLog();

  // Appends one line (without its newline). An urgent line (a finding) is
  // written and synced at once, with whatever is buffered before it.
  void append(std::string_view line, bool urgent);
  // Writes what is buffered if it has waited kRawFlushDelay (or `force`).
  void flush(bool force = false);
  // Reopens the path (after logrotate moved the file: SIGHUP).
  Status reopen();

  const EventLogCounters& counters() const { return counters_; }
  const std::string& path() const { return path_; }

 private:
  EventLog(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  // Writes `bytes` whole or not at all (a partial write is cut back).
  void write_whole(const std::string& bytes, size_t line_count);

  std::string path_;
  int fd_ = -1;
  std::string pending_;
  size_t pending_lines_ = 0;
  std::chrono::steady_clock::time_point pending_since_;
  EventLogCounters counters_;
  std::set<int> errors_said_;  // each errno is said on stderr once
};

}  // namespace mountleak

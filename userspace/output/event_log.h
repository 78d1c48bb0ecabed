// SPDX-License-Identifier: Apache-2.0
#pragma once

// The post-mortem log: JSON lines appended to one file, for months, next to
// workloads nobody vetted. It holds command lines, so only root may read it;
// it is opened so that a planted symlink or FIFO cannot redirect it; every
// line in it is whole; and a write that fails is counted and said, never
// silently dropped.
//
// It can rotate itself by size. The directory is the operator's choice, but
// names in it may have been planted by anyone who can write there: rotated
// names are renamed relative to the directory and never followed, and a
// name that is not a regular file is left alone (the log goes on growing
// rather than lose a line).

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "util/result.h"

namespace mountleak {

// FILE grows up to max_size bytes, then becomes FILE.1, FILE.1 becomes
// FILE.2, ..., and FILE.keep is dropped; a fresh FILE takes the next line.
struct LogRotation {
  uint64_t max_size = 0;  // 0: never rotate (logrotate and SIGHUP can)
  unsigned keep = 5;      // at least 1
};

struct EventLogCounters {
  uint64_t lines = 0;
  uint64_t write_errors = 0;  // lines lost to a failed write (ENOSPC, EIO, ...)
  uint64_t rotations = 0;
  // Rotations not done (a planted name, a failed rename): the lines went on
  // into the file being written, past max_size.
  uint64_t rotations_refused = 0;
};

class EventLog {
 public:
  // Raw events reach the file within this; findings at once.
  static constexpr std::chrono::milliseconds kRawFlushDelay{100};
  // After a refused rotation, so that a planted name costs a few system
  // calls a second, not a few per line, and is counted as often.
  static constexpr std::chrono::milliseconds kRotationRetryDelay{1000};

  // Opens `path` for appending: O_NOFOLLOW (a symlink is refused), mode 0600
  // (an existing file is narrowed to it), a regular file only. A torn last
  // line (from a crash mid-write) is cut off and kept, base64-encoded, in a
  // log_torn_tail line of its own, so every line parses and no byte is lost.
  static Result<EventLog> open(const std::string& path, LogRotation rotation = {});

  EventLog(EventLog&& other) noexcept;
  EventLog& operator=(EventLog&&) = delete;
  EventLog(const EventLog&) = delete;
  ~EventLog();

  // Appends one line (without its newline). An urgent line (a finding) is
  // written and synced at once, with whatever is buffered before it.
  void append(std::string_view line, bool urgent);
  // Writes what is buffered if it has waited kRawFlushDelay (or `force`),
  // rotating first whenever the next line would not fit.
  void flush(bool force = false);
  // Reopens the path (after logrotate moved the file: SIGHUP).
  Status reopen();

  const EventLogCounters& counters() const { return counters_; }
  const std::string& path() const { return path_; }

 private:
  EventLog(std::string path, int dir_fd, int fd, LogRotation rotation);
  // How many bytes of `rest` (whole lines) go into the file next; rotates
  // first when not even its first line fits.
  size_t next_write_length(std::string_view rest);
  // FILE -> FILE.1 -> ... and a fresh FILE; false (said and counted) when
  // refused, and then the current file is still the one written.
  bool rotate();
  Status shift_and_reopen();
  Status check_rotated_names() const;
  std::string rotated_name(unsigned n) const;
  // Writes `bytes` whole or not at all (a partial write is cut back).
  void write_whole(std::string_view bytes);

  std::string path_;
  std::string name_;   // path_'s last component, in dir_fd_
  int dir_fd_ = -1;    // rotation renames and opens relative to this
  int fd_ = -1;
  LogRotation rotation_;
  uint64_t size_ = 0;  // at open, plus what was written since
  std::string pending_;
  std::chrono::steady_clock::time_point pending_since_;
  std::chrono::steady_clock::time_point next_rotation_try_;
  EventLogCounters counters_;
  std::set<int> errors_said_;               // each errno is said on stderr once
  std::set<std::string> refusals_said_;     // and each reason not to rotate
};

}  // namespace mountleak

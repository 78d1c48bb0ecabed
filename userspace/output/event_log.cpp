// SPDX-License-Identifier: Apache-2.0
#include "output/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <nlohmann/json.hpp>

#include "output/json_line.h"

namespace mountleak {

namespace {

// A torn tail longer than this is cut off and counted, not kept: a JSON line
// of ours is a few KiB at most.
constexpr off_t kMaxTornTail = 1 << 20;

// Read and write: a torn last line is read back before it is cut off.
Result<int> open_log_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);
  if (fd < 0) {
    if (errno == ELOOP) return Error{"the log " + path + " is a symlink; not following it", ELOOP};
    if (errno == ENXIO) return Error{"the log " + path + " is a FIFO, not a regular file", ENXIO};
    return Error::from_errno("opening the log " + path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error{"the log " + path + " is not a regular file", EINVAL};
  }
  // O_NONBLOCK only kept a FIFO from blocking the open; a file never blocks.
  ::fcntl(fd, F_SETFL, O_APPEND);
  if ((st.st_mode & 077) != 0 && ::fchmod(fd, 0600) != 0) {
    const int err = errno;
    ::close(fd);
    return Error::from_errno("narrowing the log " + path + " to mode 0600", err);
  }
  return fd;
}

// Cuts a torn last line off and returns its bytes ("" when the file ends in
// a newline or is empty).
Result<std::string> cut_torn_tail(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno("reading the log " + path);
  if (st.st_size == 0) return std::string();
  const off_t window = std::min<off_t>(st.st_size, kMaxTornTail + 1);
  std::string tail(static_cast<size_t>(window), '\0');
  const ssize_t n = ::pread(fd, tail.data(), tail.size(), st.st_size - window);
  if (n != static_cast<ssize_t>(tail.size())) return Error::from_errno("reading the end of the log " + path);
  if (tail.back() == '\n') return std::string();
  const size_t newline = tail.rfind('\n');
  const size_t keep_from = newline == std::string::npos ? 0 : newline + 1;
  const off_t cut_at = st.st_size - window + static_cast<off_t>(keep_from);
  if (::ftruncate(fd, cut_at) != 0) return Error::from_errno("cutting a torn line off the log " + path);
  return tail.substr(keep_from);
}

}  // namespace

Result<EventLog> EventLog::open(const std::string& path) {
  auto fd = open_log_file(path);
  if (!fd) return fd.error();
  EventLog log(path, *fd);
  auto torn = cut_torn_tail(*fd, path);
  if (!torn) return torn.error();
  if (!torn->empty()) {
    nlohmann::json j = {{"event", "log_torn_tail"}, {"length", torn->size()}};
    if (torn->size() <= static_cast<size_t>(kMaxTornTail)) j["bytes_b64"] = base64(*torn);
    log.append(json_line(j), true);
  }
  return log;
}

EventLog::EventLog(EventLog&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(other.fd_),
      pending_(std::move(other.pending_)),
      pending_lines_(other.pending_lines_),
      pending_since_(other.pending_since_),
      counters_(other.counters_),
      errors_said_(std::move(other.errors_said_)) {
  other.fd_ = -1;
}

EventLog::~EventLog() {
  if (fd_ < 0) return;
  flush(true);
  ::close(fd_);
}

void EventLog::append(std::string_view line, bool urgent) {
  if (pending_.empty()) pending_since_ = std::chrono::steady_clock::now();
  pending_.append(line);
  pending_ += '\n';
  ++pending_lines_;
  if (urgent) {
    flush(true);
    ::fdatasync(fd_);
  } else {
    flush(false);
  }
}

void EventLog::flush(bool force) {
  if (pending_.empty()) return;
  if (!force && std::chrono::steady_clock::now() - pending_since_ < kRawFlushDelay) return;
  write_whole(pending_, pending_lines_);
  pending_.clear();
  pending_lines_ = 0;
}

void EventLog::write_whole(const std::string& bytes, size_t line_count) {
  const off_t before = ::lseek(fd_, 0, SEEK_END);
  size_t done = 0;
  int err = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      err = w < 0 ? errno : EIO;
      break;
    }
    done += static_cast<size_t>(w);
  }
  if (err == 0) {
    counters_.lines += line_count;
    return;
  }
  if (done > 0 && before >= 0) (void)!::ftruncate(fd_, before);  // whole lines or none
  counters_.write_errors += line_count;
  if (errors_said_.insert(err).second)
    std::fprintf(stderr, "mountleak: writing the log %s: %s; %zu line(s) lost (further losses of this kind are "
                 "counted in stats as log_write_errors)\n",
                 path_.c_str(), std::strerror(err), line_count);
}

Status EventLog::reopen() {
  flush(true);
  auto fd = open_log_file(path_);
  if (!fd) return fd.error();
  ::close(fd_);
  fd_ = *fd;
  return ok_status();
}

}  // namespace mountleak

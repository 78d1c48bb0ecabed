// SPDX-License-Identifier: Apache-2.0
#include "output/event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include <nlohmann/json.hpp>

#include "output/json_line.h"

namespace mountleak {

namespace {

// A torn tail longer than this is cut off and counted, not kept: a JSON line
// of ours is a few KiB at most.
constexpr off_t kMaxTornTail = 1 << 20;

// The directory half of `path`. It is the operator's choice and may be
// reached through a symlink (/var/run); only the names inside it are not
// trusted, and those are always opened relative to this descriptor.
Result<int> open_log_dir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  // Readable, not O_PATH: a rotation fsyncs it.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("opening the directory of the log " + path);
  return fd;
}

std::string last_component(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Read and write: a torn last line is read back before it is cut off.
// `extra_flags` is O_EXCL for the fresh file of a rotation, which must be
// one this process created, not one planted in the meantime.
Result<int> open_log_file(int dir_fd, const std::string& name, const std::string& path, int extra_flags = 0) {
  const int fd = ::openat(dir_fd, name.c_str(),
                          O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | extra_flags, 0600);
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

Result<uint64_t> file_size(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Error::from_errno("reading the size of the log " + path);
  return static_cast<uint64_t>(st.st_size);
}

// The longest run of whole lines at the start of `text` that is at most
// `room` bytes (0 when even the first line is longer).
size_t whole_lines_within(std::string_view text, uint64_t room) {
  if (text.size() <= room) return text.size();
  if (room == 0) return 0;
  const size_t newline = text.rfind('\n', static_cast<size_t>(room) - 1);
  return newline == std::string_view::npos ? 0 : newline + 1;
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

Result<EventLog> EventLog::open(const std::string& path, LogRotation rotation) {
  auto dir_fd = open_log_dir(path);
  if (!dir_fd) return dir_fd.error();
  auto fd = open_log_file(*dir_fd, last_component(path), path);
  if (!fd) {
    ::close(*dir_fd);
    return fd.error();
  }
  EventLog log(path, *dir_fd, *fd, rotation);
  auto torn = cut_torn_tail(*fd, path);
  if (!torn) return torn.error();
  auto size = file_size(*fd, path);
  if (!size) return size.error();
  log.size_ = *size;
  if (!torn->empty()) {
    nlohmann::json j = {{"event", "log_torn_tail"}, {"length", torn->size()}};
    if (torn->size() <= static_cast<size_t>(kMaxTornTail)) j["bytes_b64"] = base64(*torn);
    log.append(json_line(j), true);
  }
  return log;
}

EventLog::EventLog(std::string path, int dir_fd, int fd, LogRotation rotation)
    : path_(std::move(path)), name_(last_component(path_)), dir_fd_(dir_fd), fd_(fd), rotation_(rotation) {
  rotation_.keep = std::max(rotation_.keep, 1u);
}

EventLog::EventLog(EventLog&& other) noexcept
    : path_(std::move(other.path_)),
      name_(std::move(other.name_)),
      dir_fd_(std::exchange(other.dir_fd_, -1)),
      fd_(std::exchange(other.fd_, -1)),
      rotation_(other.rotation_),
      size_(other.size_),
      pending_(std::move(other.pending_)),
      pending_since_(other.pending_since_),
      next_rotation_try_(other.next_rotation_try_),
      counters_(other.counters_),
      errors_said_(std::move(other.errors_said_)),
      refusals_said_(std::move(other.refusals_said_)) {}

EventLog::~EventLog() {
  if (fd_ >= 0) {
    flush(true);
    ::close(fd_);
  }
  if (dir_fd_ >= 0) ::close(dir_fd_);
}

void EventLog::append(std::string_view line, bool urgent) {
  if (pending_.empty()) pending_since_ = std::chrono::steady_clock::now();
  pending_.append(line);
  pending_ += '\n';
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
  std::string_view rest = pending_;
  while (!rest.empty()) {
    const size_t length = next_write_length(rest);
    write_whole(rest.substr(0, length));
    rest.remove_prefix(length);
  }
  pending_.clear();
}

size_t EventLog::next_write_length(std::string_view rest) {
  if (rotation_.max_size == 0) return rest.size();
  const auto room = [this] { return size_ >= rotation_.max_size ? 0 : rotation_.max_size - size_; };
  if (const size_t fits = whole_lines_within(rest, room()); fits > 0) return fits;
  if (size_ > 0 && rotate())
    if (const size_t fits = whole_lines_within(rest, room()); fits > 0) return fits;
  // A line longer than max_size gets a file of its own rather than be lost.
  if (size_ == 0) return rest.find('\n') + 1;
  return rest.size();  // rotation refused: on into the current file
}

bool EventLog::rotate() {
  const auto now = std::chrono::steady_clock::now();
  if (now < next_rotation_try_) return false;
  auto done = shift_and_reopen();
  if (done) {
    ++counters_.rotations;
    return true;
  }
  ++counters_.rotations_refused;
  next_rotation_try_ = now + kRotationRetryDelay;
  if (refusals_said_.insert(done.error().message).second)
    std::fprintf(stderr, "mountleak: not rotating the log %s: %s; still writing to the file open before "
                 "(further refusals are counted in stats as log_rotations_refused)\n",
                 path_.c_str(), done.error().message.c_str());
  return false;
}

std::string EventLog::rotated_name(unsigned n) const { return name_ + "." + std::to_string(n); }

// Every name a rotation renames or replaces must be a regular file (or
// absent), and the live name must still be the file being written: a
// symlink, a directory or someone else's file there is not ours to move.
Status EventLog::check_rotated_names() const {
  struct stat ours {};
  if (::fstat(fd_, &ours) != 0) return Error::from_errno("reading the log " + path_);
  struct stat st {};
  if (::fstatat(dir_fd_, name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != ours.st_dev ||
      st.st_ino != ours.st_ino)
    return Error{path_ + " is no longer the file being written (moved or replaced without a SIGHUP)", ESTALE};
  for (unsigned n = 1; n <= rotation_.keep; ++n) {
    const std::string name = rotated_name(n);
    if (::fstatat(dir_fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return Error::from_errno("looking at " + path_ + "." + std::to_string(n));
    }
    if (S_ISLNK(st.st_mode)) return Error{path_ + "." + std::to_string(n) + " is a symlink; not clobbering it", ELOOP};
    if (!S_ISREG(st.st_mode))
      return Error{path_ + "." + std::to_string(n) + " is not a regular file; not clobbering it", EINVAL};
  }
  return ok_status();
}

// rename(2) replaces a destination name without following it, so the
// oldest file is dropped by the rename onto it. A failure part way leaves
// a gap in the numbers, never a lost file.
Status EventLog::shift_and_reopen() {
  if (auto checked = check_rotated_names(); !checked) return checked;
  for (unsigned n = rotation_.keep - 1; n >= 1; --n) {
    const std::string from = rotated_name(n), to = rotated_name(n + 1);
    if (::renameat(dir_fd_, from.c_str(), dir_fd_, to.c_str()) != 0 && errno != ENOENT)
      return Error::from_errno("renaming " + path_ + "." + std::to_string(n) + " to ." + std::to_string(n + 1));
  }
  if (::renameat(dir_fd_, name_.c_str(), dir_fd_, rotated_name(1).c_str()) != 0)
    return Error::from_errno("renaming " + path_ + " to " + path_ + ".1");
  auto fresh = open_log_file(dir_fd_, name_, path_, O_EXCL);
  if (!fresh) {
    // Something took the name in between. The file written so far goes on
    // being written; back at its name if that is free again, else as .1.
    (void)::renameat2(dir_fd_, rotated_name(1).c_str(), dir_fd_, name_.c_str(), RENAME_NOREPLACE);
    return Error{"starting a fresh log after renaming the old one: " + fresh.error().message,
                 fresh.error().errno_value};
  }
  // A finding synced at once promises the lines before it too; those may
  // be in the old file. And the new names must be on disk for a finding
  // synced into the fresh file to be found after a crash.
  ::fdatasync(fd_);
  ::fsync(dir_fd_);
  ::close(fd_);
  fd_ = *fresh;
  size_ = 0;
  return ok_status();
}

void EventLog::write_whole(std::string_view bytes) {
  const size_t line_count = static_cast<size_t>(std::count(bytes.begin(), bytes.end(), '\n'));
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
    size_ += bytes.size();
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
  auto dir_fd = open_log_dir(path_);
  if (!dir_fd) return dir_fd.error();
  auto fd = open_log_file(*dir_fd, name_, path_);
  if (!fd) {
    ::close(*dir_fd);
    return fd.error();
  }
  auto size = file_size(*fd, path_);
  if (!size) {
    ::close(*fd);
    ::close(*dir_fd);
    return size.error();
  }
  ::close(fd_);
  ::close(dir_fd_);
  fd_ = *fd;
  dir_fd_ = *dir_fd;
  size_ = *size;
  next_rotation_try_ = {};
  return ok_status();
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "postmortem/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <fmt/core.h>

#include <algorithm>
#include <cstring>

namespace mountleak {

namespace {

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Opens `path` for reading through zlib, which reads a plain file as it is
// and a gzip one decompressed. O_NONBLOCK so that a planted FIFO cannot
// block the open; a regular file is then required.
Result<gzFile> open_log_file(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("opening " + path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Error{"opening " + path + ": not a regular file"};
  }
  gzFile gz = gzdopen(fd, "rb");
  if (!gz) {
    close(fd);
    return Error{"opening " + path + ": out of memory"};
  }
  gzbuffer(gz, 128 * 1024);
  return gz;
}

class FileLines {
 public:
  FileLines(const std::string& file, const std::function<void(const LogLine&)>& each,
            std::vector<std::string>& warnings, LogReadLimits limits)
      : file_(file), each_(each), warnings_(warnings), limits_(limits) {}

  void feed(std::string_view chunk) {
    while (!chunk.empty()) {
      const size_t nl = chunk.find('\n');
      const std::string_view part = chunk.substr(0, nl);
      if (!too_long_) {
        if (line_.size() + part.size() > limits_.max_line_bytes) {
          too_long_ = true;
          line_.clear();
        } else {
          line_.append(part);
        }
      }
      if (nl == std::string_view::npos) return;
      end_line();
      chunk.remove_prefix(nl + 1);
    }
  }

  // What is left had no newline: a line torn by a crash mid-write.
  void finish() {
    if (line_.empty() && !too_long_) return;
    warnings_.push_back(fmt::format("{}: line {}: no newline at the end (torn by a crash?); skipped", file_,
                                    number_ + 1));
  }

 private:
  void end_line() {
    ++number_;
    if (too_long_)
      warnings_.push_back(fmt::format("{}: line {}: longer than {} bytes; skipped", file_, number_,
                                      limits_.max_line_bytes));
    else
      each_(LogLine{file_, number_, line_});
    line_.clear();
    too_long_ = false;
  }

  const std::string& file_;
  const std::function<void(const LogLine&)>& each_;
  std::vector<std::string>& warnings_;
  LogReadLimits limits_;
  std::string line_;
  bool too_long_ = false;
  uint64_t number_ = 0;
};

}  // namespace

Result<std::vector<std::string>> log_files(const std::string& path) {
  std::vector<std::string> rotated;
  for (unsigned n = 1;; ++n) {
    const std::string plain = fmt::format("{}.{}", path, n);
    if (exists(plain))
      rotated.push_back(plain);
    else if (exists(plain + ".gz"))
      rotated.push_back(plain + ".gz");
    else
      break;
  }
  std::reverse(rotated.begin(), rotated.end());
  if (exists(path)) rotated.push_back(path);
  if (rotated.empty()) return Error::from_errno("reading the log " + path, ENOENT);
  return rotated;
}

Status read_log(const std::vector<std::string>& files, const std::function<void(const LogLine&)>& each,
                std::vector<std::string>& warnings, LogReadLimits limits) {
  size_t read = 0;
  std::vector<char> buffer(64 * 1024);
  for (const std::string& file : files) {
    auto gz = open_log_file(file);
    if (!gz) {
      warnings.push_back(gz.error().message);
      continue;
    }
    FileLines lines(file, each, warnings, limits);
    int n;
    while ((n = gzread(*gz, buffer.data(), static_cast<unsigned>(buffer.size()))) > 0)
      lines.feed(std::string_view(buffer.data(), static_cast<size_t>(n)));
    if (n < 0) {
      int zerr = 0;
      const char* what = gzerror(*gz, &zerr);
      warnings.push_back(fmt::format("{}: {}; the rest of this file is skipped",
                                     file, zerr == Z_ERRNO ? std::strerror(errno) : what));
    } else {
      lines.finish();
    }
    gzclose(*gz);
    ++read;
  }
  if (read == 0) return Error{"no file of the log could be read"};
  return ok_status();
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "lint/manifest_inputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mountleak {

namespace {

namespace fs = std::filesystem;

// Reads fd to its end, or fails past `limit` bytes.
bool read_all(int fd, size_t limit, std::string& out, std::string& error) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    if (out.size() + static_cast<size_t>(n) > limit) {
      error = fmt::format("larger than {} bytes; not read", limit);
      return false;
    }
    out.append(buffer, static_cast<size_t>(n));
  }
}

void lint_file(const std::string& path, int open_flags, const LintOptions& options, LintResult& result) {
  const int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | open_flags);
  if (fd < 0) {
    result.problems.push_back(LintProblem{path, 0, 0, std::string("cannot open: ") + std::strerror(errno)});
    return;
  }
  struct stat st {};
  std::string text, error;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
    error = "not a regular file; not read";
  else
    read_all(fd, options.max_input_bytes, text, error);
  close(fd);
  if (!error.empty()) {
    result.problems.push_back(LintProblem{path, 0, 0, error});
    return;
  }
  lint_text(text, path, options, result);
}

bool manifest_name(const fs::path& path) {
  const std::string ext = path.extension();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

void lint_directory(const std::string& dir, const LintOptions& options, LintResult& result) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (ec) break;
    if (fs::is_regular_file(status) && manifest_name(it->path())) files.push_back(it->path());
  }
  if (ec) result.problems.push_back(LintProblem{dir, 0, 0, "reading the directory: " + ec.message()});
  std::sort(files.begin(), files.end());
  // Found without following symlinks; opened the same way, so a file swapped
  // for a symlink meanwhile is refused too.
  for (const std::string& file : files) lint_file(file, O_NOFOLLOW, options, result);
}

}  // namespace

void lint_inputs(const std::vector<std::string>& inputs, const LintOptions& options, LintResult& result) {
  for (const std::string& input : inputs) {
    if (input == "-") {
      std::string text, error;
      if (!read_all(STDIN_FILENO, options.max_input_bytes, text, error))
        result.problems.push_back(LintProblem{"<stdin>", 0, 0, error});
      else
        lint_text(text, "<stdin>", options, result);
      continue;
    }
    struct stat st {};
    if (stat(input.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      lint_directory(input, options, result);
    else
      lint_file(input, 0, options, result);
  }
}

}  // namespace mountleak

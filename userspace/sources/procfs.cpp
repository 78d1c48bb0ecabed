// SPDX-License-Identifier: Apache-2.0
#include "sources/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace mountleak {

namespace {

std::string pid_path(const std::string& proc, int pid, std::string_view leaf) {
  std::string path;
  path.reserve(proc.size() + 24 + leaf.size());
  path += proc;
  path += '/';
  path += std::to_string(pid);
  path += '/';
  path += leaf;
  return path;
}

// Closes a file descriptor on every return path.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;

 private:
  int fd_;
};

}  // namespace

Status read_file_into(const std::string& path, std::string& buf, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("opening " + path);
  FdCloser closer(fd);

  // No fstat: /proc files report st_size 0, and seq_files may return short
  // reads before the end, so read until read() says 0.
  size_t len = 0;
  if (buf.capacity() < 4096) buf.reserve(4096);
  buf.resize(buf.capacity());
  for (;;) {
    if (len > max_bytes) {
      buf.clear();
      return Error{"reading " + path + ": longer than " + std::to_string(max_bytes) + " bytes", EFBIG};
    }
    if (len == buf.size()) buf.resize(std::min(buf.size() * 2, max_bytes + 1));
    const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      buf.clear();
      return Error::from_errno("reading " + path, err);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  buf.resize(len);
  return ok_status();
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  std::string buf;
  auto st = read_file_into(path, buf, max_bytes);
  if (!st) return st.error();
  return buf;
}

std::vector<int> list_pids(const std::string& proc) {
  std::vector<int> pids;
  DIR* dir = ::opendir(proc.c_str());
  if (dir == nullptr) return pids;
  while (const dirent* de = ::readdir(dir)) {
    const char* name = de->d_name;
    const size_t len = std::strlen(name);
    int pid = 0;
    auto [end, err] = std::from_chars(name, name + len, pid);
    if (err == std::errc() && end == name + len && len > 0 && pid > 0) pids.push_back(pid);
  }
  ::closedir(dir);
  std::sort(pids.begin(), pids.end());
  return pids;
}

Result<uint64_t> ns_inode_of_path(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::from_errno("stat " + path);
  return static_cast<uint64_t>(st.st_ino);
}

Result<uint64_t> ns_inode(const std::string& proc, int pid, std::string_view ns) {
  std::string leaf = "ns/";
  leaf += ns;
  return ns_inode_of_path(pid_path(proc, pid, leaf));
}

bool process_vanished(const Error& error) {
  return error.errno_value == ENOENT || error.errno_value == ESRCH || error.errno_value == EINVAL;
}

std::optional<ProcStat> parse_proc_stat(std::string_view text) {
  const size_t open = text.find('(');
  const size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open)
    return std::nullopt;
  ProcStat st;
  st.comm.assign(text.substr(open + 1, close - open - 1));

  // After ") ": state ppid pgrp session tty_nr tpgid flags ...
  std::string_view rest = text.substr(close + 1);
  std::string_view fields[7];
  for (auto& f : fields) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t sp = rest.find_first_of(" \n");
    f = rest.substr(0, sp);
    rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);
    if (f.empty()) return std::nullopt;
  }
  if (fields[0].size() != 1) return std::nullopt;
  st.state = fields[0][0];
  auto parse_int = [](std::string_view s, auto& out) {
    auto [end, err] = std::from_chars(s.data(), s.data() + s.size(), out);
    return err == std::errc() && end == s.data() + s.size();
  };
  if (!parse_int(fields[1], st.ppid) || !parse_int(fields[6], st.flags)) return std::nullopt;
  // starttime, field 22 of stat (the 20th after the comm): optional, so a
  // short synthetic stat still parses.
  for (int field = 10; field <= 22; ++field) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    const size_t sp = rest.find_first_of(" \n");
    const std::string_view f = rest.substr(0, sp);
    rest.remove_prefix(sp == std::string_view::npos ? rest.size() : sp);
    if (f.empty()) break;
    if (field == 22 && !parse_int(f, st.start_time)) st.start_time = 0;
  }
  return st;
}

Result<ProcStat> read_proc_stat(const std::string& proc, int pid) {
  const std::string path = pid_path(proc, pid, "stat");
  auto text = read_file(path);
  if (!text) return text.error();
  auto st = parse_proc_stat(*text);
  if (!st) return Error{"parsing " + path + ": unexpected format", 0};
  return std::move(*st);
}

Result<std::string> read_comm(const std::string& proc, int pid) {
  auto text = read_file(pid_path(proc, pid, "comm"));
  if (!text) return text.error();
  if (!text->empty() && text->back() == '\n') text->pop_back();
  return std::move(*text);
}

Result<int> read_ppid(const std::string& proc, int pid) {
  auto st = read_proc_stat(proc, pid);
  if (!st) return st.error();
  return st->ppid;
}

std::vector<std::string> split_cmdline(std::string_view raw) {
  std::vector<std::string> argv;
  // argv strings are NUL-terminated, so the final NUL ends the last one; a
  // process that rewrote its argv may leave no final NUL.
  while (!raw.empty()) {
    const size_t nul = raw.find('\0');
    argv.emplace_back(raw.substr(0, nul));
    if (nul == std::string_view::npos) break;
    raw.remove_prefix(nul + 1);
  }
  return argv;
}

Result<std::vector<std::string>> read_cmdline(const std::string& proc, int pid) {
  auto raw = read_file(pid_path(proc, pid, "cmdline"));
  if (!raw) return raw.error();
  return split_cmdline(*raw);
}

Result<std::string> read_cgroup(const std::string& proc, int pid) {
  return read_file(pid_path(proc, pid, "cgroup"));
}

Result<ProcessInfo> read_process_info(const std::string& proc, int pid) {
  auto st = read_proc_stat(proc, pid);
  if (!st) return st.error();
  ProcessInfo info;
  info.pid = pid;
  info.ppid = st->ppid;
  info.comm = std::move(st->comm);
  info.kernel_thread = st->kernel_thread();
  info.start_time = st->start_time;
  if (auto argv = read_cmdline(proc, pid)) {
    info.cmdline = std::move(*argv);
  } else if (process_vanished(argv.error())) {
    return argv.error();
  }
  if (auto cg = read_cgroup(proc, pid)) {
    info.cgroup = std::move(*cg);
  } else if (process_vanished(cg.error())) {
    return cg.error();
  }
  return info;
}

}  // namespace mountleak

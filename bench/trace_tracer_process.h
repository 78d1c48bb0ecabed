// SPDX-License-Identifier: Apache-2.0
#pragma once

// The real `mountleak trace -o json` binary as a child process, for the trace
// benchmarks: started with its stdout on a pipe, read line by line (each line
// stamped with CLOCK_MONOTONIC when the benchmark read it), stopped with
// SIGINT so that it drains and prints its final {"event":"stats"} line.
//
// Header-only because bench/CMakeLists.txt makes every bench/*.cpp its own
// executable; the trace_*.cpp benchmarks share this.
//
// The child gets PR_SET_PDEATHSIG(SIGINT), so a benchmark killed outright
// does not leave a tracer attached to the node.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace mountleak::bench {

inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// A "Key:   123 kB" field of /proc/PID/status, in KiB; -1 when unreadable.
inline long proc_status_kib(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stol(line.substr(key.size() + 1));
  return -1;
}

// utime + stime of a process, in seconds; -1 when unreadable.
inline double proc_cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  // Fields after "(comm)": state is field 3, utime 14, stime 15.
  std::vector<std::string> fields;
  size_t pos = close + 2;
  while (pos < text.size() && fields.size() < 13) {
    const size_t end = text.find(' ', pos);
    fields.push_back(text.substr(pos, end - pos));
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  if (fields.size() < 13) return -1;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::stod(fields[11]) + std::stod(fields[12])) / tick;
}

struct TracerLine {
  uint64_t read_ns = 0;  // CLOCK_MONOTONIC when the benchmark read the line
  nlohmann::json json;
};

struct TracerExit {
  nlohmann::json stats;                // the final stats line; null if it never came
  std::vector<TracerLine> late_lines;  // everything read after stop() began
  long maxrss_kib = 0;                 // wait4's ru_maxrss
  double cpu_seconds = 0;
  int exit_code = -1;  // -1: killed by a signal
  std::string stderr_text;
};

class TracerProcess {
 public:
  // Starts `binary trace -o json <args>` and waits for its ready line.
  static Result<std::unique_ptr<TracerProcess>> start(const std::string& binary,
                                                      const std::vector<std::string>& args,
                                                      int ready_timeout_ms = 60000) {
    std::unique_ptr<TracerProcess> t(new TracerProcess());
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return Error::from_errno("pipe for the tracer");
    char err_path[] = "/tmp/mountleak-bench-tracer-stderr-XXXXXX";
    t->err_fd_ = mkstemp(err_path);
    if (t->err_fd_ < 0) return Error::from_errno("temp file for the tracer's stderr");
    unlink(err_path);

    std::vector<std::string> argv = {binary, "trace", "-o", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);

    const pid_t parent = getpid();
    t->pid_ = fork();
    if (t->pid_ < 0) return Error::from_errno("fork for the tracer");
    if (t->pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGINT);
      if (getppid() != parent) _exit(126);
      setpgid(0, 0);  // a ^C on the benchmark's terminal is the benchmark's to handle
      dup2(out[1], STDOUT_FILENO);
      dup2(t->err_fd_, STDERR_FILENO);
      execv(cargv[0], cargv.data());
      _exit(127);
    }
    close(out[1]);
    t->out_fd_ = out[0];
    fcntl(t->out_fd_, F_SETFL, O_NONBLOCK);

    auto ready = t->next_line(ready_timeout_ms);
    if (!ready) {
      auto exit = t->stop(2000);
      return Error{"mountleak trace did not get ready: " + exit.stderr_text};
    }
    if (ready->json.value("event", "") != "ready")
      return Error{"mountleak trace's first line is not ready: " + ready->json.dump()};
    t->ready_ = ready->json;
    t->ready_ns_ = ready->read_ns;
    return t;
  }

  ~TracerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }
  TracerProcess(const TracerProcess&) = delete;
  TracerProcess& operator=(const TracerProcess&) = delete;

  pid_t pid() const { return pid_; }
  const nlohmann::json& ready() const { return ready_; }
  uint64_t ready_ns() const { return ready_ns_; }
  long vm_hwm_kib() const { return proc_status_kib(pid_, "VmHWM"); }
  long vm_rss_kib() const { return proc_status_kib(pid_, "VmRSS"); }
  double cpu_seconds() const { return proc_cpu_seconds(pid_); }

  // The next line, waiting at most timeout_ms (0: only what is buffered);
  // nullopt on timeout or end of output. Lines that are not JSON come back
  // as {"unparsed": text}.
  std::optional<TracerLine> next_line(int timeout_ms) {
    const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
    for (;;) {
      const size_t nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        TracerLine line;
        line.read_ns = buffered_ns_;
        std::string text = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        line.json = nlohmann::json::parse(text, nullptr, false);
        if (line.json.is_discarded()) line.json = {{"unparsed", text}};
        return line;
      }
      if (eof_) return std::nullopt;
      const uint64_t now = monotonic_ns();
      if (!fill(now >= deadline ? 0 : static_cast<int>((deadline - now + 999999) / 1000000)) &&
          monotonic_ns() >= deadline)
        return std::nullopt;
    }
  }

  // SIGINT, then every remaining line up to end of output, then wait4.
  TracerExit stop(int timeout_ms = 30000) {
    TracerExit exit;
    if (pid_ <= 0) return exit;
    kill(pid_, SIGINT);
    const uint64_t deadline = monotonic_ns() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
    while (monotonic_ns() < deadline) {
      auto line = next_line(200);
      if (line) {
        if (line->json.value("event", "") == "stats") exit.stats = line->json;
        exit.late_lines.push_back(std::move(*line));
      } else if (eof_) {
        break;
      }
    }
    if (!eof_) kill(pid_, SIGKILL);
    int status = 0;
    rusage usage{};
    while (wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    exit.maxrss_kib = usage.ru_maxrss;
    exit.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    exit.cpu_seconds = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                       static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    char chunk[4096];
    lseek(err_fd_, 0, SEEK_SET);
    for (ssize_t n; (n = read(err_fd_, chunk, sizeof chunk)) > 0;)
      exit.stderr_text.append(chunk, n);
    return exit;
  }

 private:
  TracerProcess() = default;

  // Reads what the pipe holds, waiting up to timeout_ms for something.
  // False when nothing came.
  bool fill(int timeout_ms) {
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) return false;
    bool got = false;
    char chunk[65536];
    for (;;) {
      const ssize_t n = read(out_fd_, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        got = true;
        continue;
      }
      if (n == 0) eof_ = true;
      break;
    }
    // One stamp per read: lines that arrived together were written together.
    if (got) buffered_ns_ = monotonic_ns();
    return got || eof_;
  }

  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  bool eof_ = false;
  std::string buffer_;
  uint64_t buffered_ns_ = 0;
  nlohmann::json ready_;
  uint64_t ready_ns_ = 0;
};

}  // namespace mountleak::bench

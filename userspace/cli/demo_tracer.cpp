// SPDX-License-Identifier: Apache-2.0
#include "cli/demo_tracer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace mountleak {

Result<DemoTracer> DemoTracer::start(const std::vector<std::string>& args, std::string log_path) {
  std::vector<std::string> argv{"mountleak", "trace"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--log", log_path});
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) return Error::from_errno("starting mountleak trace");
  if (pid == 0) {
    execv("/proc/self/exe", cargv.data());
    _exit(127);
  }
  return DemoTracer(pid, std::move(log_path));
}

DemoTracer::DemoTracer(DemoTracer&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      log_path_(std::move(other.log_path_)),
      offset_(other.offset_),
      partial_(std::move(other.partial_)),
      kinds_(std::move(other.kinds_)),
      next_(other.next_) {}

DemoTracer::~DemoTracer() {
  if (pid_ > 0) (void)stop();
}

void DemoTracer::read_new_lines() {
  int fd = open(log_path_.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;  // not written yet
  char buffer[16384];
  ssize_t n;
  while ((n = pread(fd, buffer, sizeof buffer, static_cast<off_t>(offset_))) > 0) {
    offset_ += static_cast<uint64_t>(n);
    partial_.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  size_t start = 0, nl;
  while ((nl = partial_.find('\n', start)) != std::string::npos) {
    auto line = nlohmann::json::parse(partial_.begin() + static_cast<long>(start),
                                      partial_.begin() + static_cast<long>(nl), nullptr, false);
    if (line.is_object() && line.contains("event") && line["event"].is_string())
      kinds_.push_back(line["event"].get<std::string>());
    start = nl + 1;
  }
  partial_.erase(0, start);
}

std::string DemoTracer::exited() {
  int status = 0;
  if (pid_ <= 0) return "it is not running";
  if (waitpid(pid_, &status, WNOHANG) != pid_) return "";
  pid_ = -1;
  if (WIFEXITED(status)) return fmt::format("it exited with status {}", WEXITSTATUS(status));
  return fmt::format("it was killed by signal {}", WTERMSIG(status));
}

Status DemoTracer::wait_for(const std::string& kind, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    read_new_lines();
    auto found = std::find(kinds_.begin() + static_cast<long>(next_), kinds_.end(), kind);
    if (found != kinds_.end()) {
      next_ = static_cast<size_t>(found - kinds_.begin()) + 1;
      // trace writes its stdout at the end of the loop turn that logged the
      // finding: let it reach the screen before the demo says more.
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      return ok_status();
    }
    if (std::string why = exited(); !why.empty())
      return Error{fmt::format("mountleak trace stopped before a {} event: {}", kind, why)};
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{fmt::format("no {} event from mountleak trace within {} s", kind, timeout.count() / 1000)};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

bool DemoTracer::seen(const std::string& kind) const {
  return std::find(kinds_.begin(), kinds_.end(), kind) != kinds_.end();
}

Status DemoTracer::stop() {
  if (pid_ <= 0) return ok_status();
  kill(pid_, SIGINT);
  int status = 0;
  for (int i = 0; i < 100; ++i) {  // trace answers SIGINT within a second
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return ok_status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return Error{"mountleak trace did not stop within 5 s of SIGINT; killed"};
}

}  // namespace mountleak

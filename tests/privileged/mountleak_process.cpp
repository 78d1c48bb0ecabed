// SPDX-License-Identifier: Apache-2.0
#include "mountleak_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mountleak::testing {

namespace {

std::vector<char*> argv_of(const std::string& binary, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::vector<nlohmann::json> RunResult::json_lines() const {
  std::vector<nlohmann::json> out;
  std::istringstream in(this->out);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::chrono::nanoseconds gone_after_signal(pid_t pid, int sig, int& status, std::chrono::seconds limit) {
  const auto sent = std::chrono::steady_clock::now();
  kill(pid, sig);
  pid_t done = 0;
  while ((done = waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() - sent < limit)
    usleep(5000);
  if (done != pid) ADD_FAILURE() << "PID " << pid << " still there " << limit.count() << " s after signal " << sig;
  return std::chrono::steady_clock::now() - sent;
}

RunResult run_mountleak(const std::vector<std::string>& args, std::chrono::seconds timeout, const Launch& launch) {
  RunResult result;
  char out_path[] = "/tmp/mountleak-test-out-XXXXXX";
  char err_path[] = "/tmp/mountleak-test-err-XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  const std::string& binary = launch.binary;
  auto argv = argv_of(binary, args);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (launch.enter && !launch.enter()) _exit(126);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    usleep(10000);
  }
  result.exit_code = decode_status(status);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  return result;
}

TraceProcess::TraceProcess(const std::vector<std::string>& args, const Launch& launch) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return;
  char err_path[] = "/tmp/mountleak-trace-err-XXXXXX";
  int err_fd = mkstemp(err_path);
  err_path_ = err_path;
  const std::string& binary = launch.binary;
  std::vector<std::string> full = {"trace", "-o", "json"};
  // The vm lane runs this suite once per tier, forcing the fallback with
  // e.g. "--no-feature fentry,kprobe" (words split on blanks).
  if (const char* extra = std::getenv("MOUNTLEAK_TEST_TRACE_ARGS")) {
    std::istringstream words(extra);
    for (std::string word; words >> word;) full.push_back(word);
  }
  full.insert(full.end(), args.begin(), args.end());
  auto argv = argv_of(binary, full);
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipe_fds[1], 1);
    dup2(err_fd, 2);
    if (launch.enter && !launch.enter()) _exit(126);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  close(err_fd);
  out_fd_ = pipe_fds[0];
}

TraceProcess::~TraceProcess() {
  if (pid_ > 0) stop();
  if (out_fd_ >= 0) close(out_fd_);
  if (!err_path_.empty()) unlink(err_path_.c_str());
}

bool TraceProcess::read_line(std::string& line, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return true;
    }
    if (out_fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char chunk[65536];
    ssize_t n = read(out_fd_, chunk, sizeof(chunk));
    if (n <= 0) {
      close(out_fd_);
      out_fd_ = -1;
      return false;
    }
    buffer_.append(chunk, static_cast<size_t>(n));
  }
}

std::optional<nlohmann::json> TraceProcess::wait_for(const std::function<bool(const nlohmann::json&)>& match,
                                                     std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    for (; next_ < events_.size(); ++next_)
      if (match(events_[next_])) return events_[next_++];
    std::string line;
    if (!read_line(line, deadline)) return std::nullopt;
    if (line.empty()) continue;
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    events_.push_back(parsed.is_discarded() ? nlohmann::json{{"event", "unparsable"}, {"line", line}} : parsed);
  }
}

std::optional<nlohmann::json> TraceProcess::wait_for_event(const std::string& kind,
                                                           std::chrono::milliseconds timeout) {
  return wait_for([&](const nlohmann::json& e) { return e.value("event", "") == kind; }, timeout);
}

int TraceProcess::stop() {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGINT);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::string line;
  while (read_line(line, deadline)) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    if (!parsed.is_discarded()) events_.push_back(parsed);
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) == 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  exit_code_ = decode_status(status);
  pid_ = -1;
  return exit_code_;
}

std::string TraceProcess::stderr_text() { return slurp(err_path_); }

std::string TraceProcess::describe() const {
  std::string out;
  for (const auto& e : events_) out += e.value("event", "?") + " ";
  return out;
}

}  // namespace mountleak::testing

// SPDX-License-Identifier: Apache-2.0
#include "sources/deadline_child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>
#include <utility>
#include <vector>

namespace mountleak {

namespace {

std::vector<pid_t>& abandoned() {
  static std::vector<pid_t> pids;
  return pids;
}

// Waits up to `grace` for a killed child to die; false when it did not.
bool reap_within(pid_t child, int& status, std::chrono::milliseconds grace) {
  const auto until = std::chrono::steady_clock::now() + grace;
  for (;;) {
    const pid_t r = ::waitpid(child, &status, WNOHANG);
    if (r == child || (r < 0 && errno != EINTR)) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

size_t reap_abandoned_children() {
  auto& pids = abandoned();
  std::erase_if(pids, [](pid_t pid) {
    int status = 0;
    const pid_t r = ::waitpid(pid, &status, WNOHANG);
    return r == pid || (r < 0 && errno == ECHILD);
  });
  return pids.size();
}

bool write_all(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    const ssize_t w = ::write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    len -= static_cast<size_t>(w);
  }
  return true;
}

Result<AsyncChild> AsyncChild::start(const std::function<void(int write_fd)>& work,
                                     std::chrono::milliseconds deadline) {
  if (reap_abandoned_children() >= kMaxAbandonedChildren)
    return Error{std::to_string(kMaxAbandonedChildren) +
                     " earlier children are still stuck in a file system that does not answer; not starting another",
                 EAGAIN};
  int pipefd[2];
  // Non-blocking: poll() reads only what is there.
  if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return Error::from_errno("pipe", errno);
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return Error::from_errno("fork", err);
  }
  if (child == 0) {
    ::close(pipefd[0]);
    work(pipefd[1]);
    ::_exit(0);
  }
  ::close(pipefd[1]);
  return AsyncChild(child, pipefd[0], std::chrono::steady_clock::now() + deadline);
}

AsyncChild::AsyncChild(AsyncChild&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      read_fd_(std::exchange(other.read_fd_, -1)),
      until_(other.until_),
      out_(std::move(other.out_)),
      eof_(other.eof_),
      done_(std::exchange(other.done_, true)) {}

AsyncChild& AsyncChild::operator=(AsyncChild&& other) noexcept {
  if (this != &other) {
    if (!done_) kill_now();
    if (read_fd_ >= 0) ::close(read_fd_);
    pid_ = std::exchange(other.pid_, -1);
    read_fd_ = std::exchange(other.read_fd_, -1);
    until_ = other.until_;
    out_ = std::move(other.out_);
    eof_ = other.eof_;
    done_ = std::exchange(other.done_, true);
  }
  return *this;
}

AsyncChild::~AsyncChild() {
  if (!done_) kill_now();
  if (read_fd_ >= 0) ::close(read_fd_);
}

void AsyncChild::finish_killed() {
  ::kill(pid_, SIGKILL);
  int status = 0;
  // A short wait only: a child stuck in FUSE dies when the server answers.
  if (!reap_within(pid_, status, std::chrono::milliseconds(20))) abandoned().push_back(pid_);
  out_.timed_out = true;
  done_ = true;
}

void AsyncChild::kill_now() {
  if (done_) return;
  finish_killed();
}

bool AsyncChild::poll() {
  if (done_) return true;
  char chunk[4096];
  while (!eof_) {
    const ssize_t n = ::read(read_fd_, chunk, sizeof chunk);
    if (n > 0) {
      out_.bytes.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) eof_ = true;  // the child exited (or is exiting): nothing more comes
    else if (errno != EINTR && errno != EAGAIN) eof_ = true;
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  if (eof_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      out_.exited_ok = r == pid_ && WIFEXITED(status) && WEXITSTATUS(status) == 0;
      done_ = true;
      return true;
    }
  }
  if (std::chrono::steady_clock::now() >= until_) {
    finish_killed();
    return true;
  }
  return false;
}

Result<ChildOutput> run_with_deadline(const std::function<void(int write_fd)>& work,
                                      std::chrono::milliseconds deadline) {
  if (reap_abandoned_children() >= kMaxAbandonedChildren)
    return Error{std::to_string(kMaxAbandonedChildren) +
                     " earlier lookups are still stuck in a file system that does not answer; not starting another",
                 EAGAIN};
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Error::from_errno("pipe", errno);
  const pid_t child = ::fork();
  if (child < 0) {
    const int err = errno;
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return Error::from_errno("fork", err);
  }
  if (child == 0) {
    ::close(pipefd[0]);
    work(pipefd[1]);
    ::_exit(0);
  }

  ::close(pipefd[1]);
  ChildOutput out;
  char chunk[16384];
  const auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    pollfd p{pipefd[0], POLLIN, 0};
    const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      out.timed_out = true;
      ::kill(child, SIGKILL);  // never left behind, whatever it waits for
      break;
    }
    const ssize_t n = ::read(pipefd[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.bytes.append(chunk, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  if (out.timed_out) {
    if (!reap_within(child, status, std::chrono::milliseconds(100))) abandoned().push_back(child);
    return out;
  }
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  out.exited_ok = !out.timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "sources/mountinfo_watch.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <set>

namespace mountleak {

namespace {

// A thread's own pidfd (Linux 6.9); before it, only a process's.
#ifndef PIDFD_THREAD
constexpr unsigned kPidfdThread = O_EXCL;
#else
constexpr unsigned kPidfdThread = PIDFD_THREAD;
#endif

// Tasks tried per watch: the model's list may be long and mostly stale.
constexpr size_t kTasksTried = 4;

// An epoll entry's data: the namespace inode (32 bits in the kernel), and
// whether the entry is the pidfd or the mountinfo.
uint64_t tag(uint64_t inode, bool pidfd) { return (inode << 1) | (pidfd ? 1 : 0); }

int open_pidfd(int task) {
  int fd = static_cast<int>(syscall(SYS_pidfd_open, task, 0));
  if (fd < 0 && errno == EINVAL)  // a thread, not a process
    fd = static_cast<int>(syscall(SYS_pidfd_open, task, kPidfdThread));
  return fd;
}

bool in_namespace(const std::string& proc, int task, uint64_t inode) {
  struct stat st {};
  const std::string path = proc + "/" + std::to_string(task) + "/ns/mnt";
  return stat(path.c_str(), &st) == 0 && st.st_ino == inode;
}

bool still_running(int pidfd) {
  pollfd p{pidfd, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

bool out_of_descriptors(int err) { return err == EMFILE || err == ENFILE; }

}  // namespace

Result<MountinfoWatch> MountinfoWatch::open(std::string proc) {
  int fd = epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return Error::from_errno("epoll_create1");
  return MountinfoWatch(fd, std::move(proc));
}

MountinfoWatch::MountinfoWatch(MountinfoWatch&& other) noexcept
    : epoll_(other.epoll_), proc_(std::move(other.proc_)), watches_(std::move(other.watches_)) {
  other.epoll_ = -1;
  other.watches_.clear();
}

MountinfoWatch::~MountinfoWatch() {
  for (auto& [inode, w] : watches_) close_watch(w);
  if (epoll_ >= 0) close(epoll_);
}

void MountinfoWatch::close_watch(Watch& w) {
  // Closing a descriptor takes it out of the epoll set.
  if (w.mountinfo >= 0) close(w.mountinfo);
  if (w.pidfd >= 0) close(w.pidfd);
  w = Watch{};
}

MountinfoWatch::Outcome MountinfoWatch::watch(uint64_t inode, const std::vector<int>& tasks) {
  if (watching(inode)) return Outcome::kWatching;
  size_t tried = 0;
  for (int task : tasks) {
    if (task <= 0) continue;
    if (++tried > kTasksTried) break;
    Watch w;
    w.pidfd = open_pidfd(task);
    if (w.pidfd < 0) {
      if (out_of_descriptors(errno)) return Outcome::kNoRoom;
      continue;
    }
    if (!in_namespace(proc_, task, inode)) {
      close_watch(w);
      continue;
    }
    const std::string path = proc_ + "/" + std::to_string(task) + "/mountinfo";
    w.mountinfo = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    const int open_errno = errno;
    // The pidfd pins the task, not its number: the task must still be
    // running, and in the namespace, after the open for the open to be its.
    if (w.mountinfo < 0 || !in_namespace(proc_, task, inode) || !still_running(w.pidfd)) {
      close_watch(w);
      if (out_of_descriptors(open_errno)) return Outcome::kNoRoom;
      continue;
    }
    epoll_event on_change{EPOLLPRI, {.u64 = tag(inode, false)}};
    epoll_event on_exit{EPOLLIN, {.u64 = tag(inode, true)}};
    if (epoll_ctl(epoll_, EPOLL_CTL_ADD, w.mountinfo, &on_change) != 0 ||
        epoll_ctl(epoll_, EPOLL_CTL_ADD, w.pidfd, &on_exit) != 0) {
      const int err = errno;
      close_watch(w);
      if (err == ENOSPC || err == ENOMEM) return Outcome::kNoRoom;  // epoll's own limit
      continue;
    }
    watches_.emplace(inode, w);
    return Outcome::kWatching;
  }
  return Outcome::kNoTask;
}

void MountinfoWatch::unwatch(uint64_t inode) {
  auto it = watches_.find(inode);
  if (it == watches_.end()) return;
  close_watch(it->second);
  watches_.erase(it);
}

std::vector<uint64_t> MountinfoWatch::watched() const {
  std::vector<uint64_t> out;
  out.reserve(watches_.size());
  for (const auto& [inode, w] : watches_) out.push_back(inode);
  return out;
}

MountinfoWatch::Happened MountinfoWatch::take() {
  std::set<uint64_t> changed;
  std::set<uint64_t> exited;
  std::array<epoll_event, 64> events{};
  // Each round empties what is ready; a table that keeps changing comes
  // back level-triggered, so the rounds are bounded by the watches.
  for (size_t round = 0; round <= watches_.size() / events.size() + 1; ++round) {
    const int n = epoll_wait(epoll_, events.data(), static_cast<int>(events.size()), 0);
    if (n <= 0) break;
    for (int i = 0; i < n; ++i) {
      const uint64_t inode = events[i].data.u64 >> 1;
      if (events[i].data.u64 & 1)
        exited.insert(inode);
      else if (events[i].events & (EPOLLPRI | EPOLLERR))
        changed.insert(inode);
    }
    if (n < static_cast<int>(events.size())) break;
  }
  Happened out;
  for (uint64_t inode : exited) {
    unwatch(inode);
    out.closed.push_back(inode);
  }
  // A namespace whose task left may still have changed first.
  out.changed.assign(changed.begin(), changed.end());
  return out;
}

}  // namespace mountleak

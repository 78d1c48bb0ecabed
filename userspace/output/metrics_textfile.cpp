// SPDX-License-Identifier: Apache-2.0
#include "output/metrics_textfile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace mountleak {

MetricsTextfile::MetricsTextfile(std::string path, int dir_fd, std::string name)
    : path_(std::move(path)), dir_fd_(dir_fd), name_(std::move(name)) {
  // Hidden and not *.prom: the collector never reads it half written.
  temp_ = "." + name_ + "." + std::to_string(getpid()) + ".tmp";
}

MetricsTextfile::MetricsTextfile(MetricsTextfile&& other) noexcept
    : path_(std::move(other.path_)),
      dir_fd_(std::exchange(other.dir_fd_, -1)),
      name_(std::move(other.name_)),
      temp_(std::move(other.temp_)) {}

MetricsTextfile::~MetricsTextfile() {
  if (dir_fd_ >= 0) close(dir_fd_);
}

Result<MetricsTextfile> MetricsTextfile::open(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.size() <= 5 || !name.ends_with(".prom") || name.front() == '.')
    return Error{"--metrics-textfile " + path +
                     ": the file name must end in .prom (node-exporter's textfile collector reads only those) "
                     "and not start with a dot",
                 EINVAL};
  // The directory is the operator's; it is opened once, and every write
  // and rename is relative to it.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("--metrics-textfile: opening the directory " + dir);
  return MetricsTextfile(path, fd, name);
}

Status MetricsTextfile::write(const std::string& page) {
  // A temporary name left by a crash, or planted: removed, never opened.
  if (unlinkat(dir_fd_, temp_.c_str(), 0) != 0 && errno != ENOENT)
    return Error::from_errno("--metrics-textfile: removing " + temp_);
  const int fd = openat(dir_fd_, temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return Error::from_errno("--metrics-textfile: creating " + temp_ + " beside " + path_);
  // The umask must not hide the page from node-exporter's user.
  fchmod(fd, 0644);
  size_t done = 0;
  while (done < page.size()) {
    const ssize_t n = ::write(fd, page.data() + done, page.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      close(fd);
      unlinkat(dir_fd_, temp_.c_str(), 0);
      return Error::from_errno("--metrics-textfile: writing " + temp_, err);
    }
    done += static_cast<size_t>(n);
  }
  if (close(fd) != 0) {
    const int err = errno;
    unlinkat(dir_fd_, temp_.c_str(), 0);
    return Error::from_errno("--metrics-textfile: writing " + temp_, err);
  }
  if (renameat(dir_fd_, temp_.c_str(), dir_fd_, name_.c_str()) != 0) {
    const int err = errno;
    unlinkat(dir_fd_, temp_.c_str(), 0);
    return Error::from_errno("--metrics-textfile: renaming " + temp_ + " to " + path_, err);
  }
  return ok_status();
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "resolve/read_text.h"

#include <fcntl.h>
#include <unistd.h>

namespace mountleak {

Result<std::string> read_text_file(const std::string& path, std::size_t max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error::from_errno("reading " + path);
  std::string out;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Error::from_errno("reading " + path, err);
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes) {
      ::close(fd);
      return Error{"reading " + path + ": longer than " + std::to_string(max_bytes) + " bytes", EFBIG};
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::string> read_attribute(const std::string& path) {
  auto text = read_text_file(path, 1u << 16);
  if (!text) return text;
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  return text;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "sources/module_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace mountleak {

ModuleState module_state(const std::string& sys_root, const std::string& name) {
  const std::string dir = sys_root + "/module/" + name;
  struct stat st {};
  if (stat(dir.c_str(), &st) != 0) return errno == ENOENT ? ModuleState::kAbsent : ModuleState::kUnknown;
  if (!S_ISDIR(st.st_mode)) return ModuleState::kUnknown;
  const int fd = open((dir + "/initstate").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      // Gone between the two calls, or built in (no initstate, always there).
      return stat(dir.c_str(), &st) == 0 ? ModuleState::kLive : ModuleState::kAbsent;
    }
    return ModuleState::kUnknown;
  }
  char buf[16];
  const ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return ModuleState::kUnknown;
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.starts_with("live")) return ModuleState::kLive;
  if (text.starts_with("coming")) return ModuleState::kComing;
  if (text.starts_with("going")) return ModuleState::kGoing;
  return ModuleState::kUnknown;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "sources/memory_maps.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <set>
#include <utility>

namespace mountleak {

namespace {

constexpr size_t kMaxMapsLine = 8192;

// The next field of a maps line, separated by one or more spaces.
std::string_view next_field(std::string_view& rest) {
  const size_t start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) {
    rest = {};
    return {};
  }
  rest.remove_prefix(start);
  const size_t end = rest.find(' ');
  std::string_view field = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  return field;
}

template <class T>
bool parse_number(std::string_view text, T& out, int base) {
  if (text.empty()) return false;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return err == std::errc() && end == text.data() + text.size();
}

}  // namespace

std::optional<MappedFile> parse_maps_line(std::string_view line) {
  std::string_view rest = line;
  const std::string_view range = next_field(rest), perms = next_field(rest), offset = next_field(rest);
  const std::string_view dev = next_field(rest), inode = next_field(rest);
  if (range.find('-') == std::string_view::npos || perms.size() != 4 || offset.empty()) return std::nullopt;
  const size_t colon = dev.find(':');
  MappedFile out;
  if (colon == std::string_view::npos || !parse_number(dev.substr(0, colon), out.dev.major, 16) ||
      !parse_number(dev.substr(colon + 1), out.dev.minor, 16) || !parse_number(inode, out.inode, 10))
    return std::nullopt;
  if (out.inode == 0) return std::nullopt;
  const size_t path = rest.find_first_not_of(' ');
  if (path != std::string_view::npos) out.path = std::string(rest.substr(path));
  return out;
}

bool for_each_mapped_file(int pid_dir, const std::function<void(const MappedFile&)>& found) {
  const int fd = ::openat(pid_dir, "maps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  std::set<std::pair<DevId, uint64_t>> seen;
  std::string pending;    // the start of a line cut by a read
  bool overlong = false;  // the line being read is longer than any the kernel prints
  char buf[65536];
  size_t total = 0;
  bool read_ok = true;
  auto end_line = [&](std::string_view tail) {
    if (!overlong) {
      std::string_view line = tail;
      if (!pending.empty()) line = pending.append(tail);
      auto m = parse_maps_line(line);
      if (m && seen.emplace(m->dev, m->inode).second) found(*m);
    }
    pending.clear();
    overlong = false;
  };
  while (total < kMaxMapsBytes) {
    const ssize_t n = ::read(fd, buf, std::min(sizeof buf, kMaxMapsBytes - total));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_ok = false;
    if (n <= 0) break;
    total += static_cast<size_t>(n);
    std::string_view chunk(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(nl + 1))
      end_line(chunk.substr(0, nl));
    if (pending.size() + chunk.size() > kMaxMapsLine) {
      overlong = true;
      pending.clear();
    }
    if (!overlong) pending.append(chunk);
  }
  ::close(fd);
  return read_ok;
}

}  // namespace mountleak

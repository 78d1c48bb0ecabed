// SPDX-License-Identifier: Apache-2.0
#include "resolve/dm_sysfs.h"

#include <dirent.h>

#include <algorithm>
#include <cstring>

#include "resolve/read_text.h"

namespace mountleak {

namespace {

// DM_NAME_LEN and DM_UUID_LEN with room for the newline sysfs adds.
constexpr size_t kMaxAttribute = 160;
// A kernel block device name ("loop0", "nvme0n1p3"): DISK_NAME_LEN is 32.
constexpr size_t kMaxKernelName = 32;

std::string attribute(const std::string& path) {
  auto text = read_text_file(path, kMaxAttribute);
  if (!text) return "";
  std::string value = std::move(*text);
  if (!value.empty() && value.back() == '\n') value.pop_back();
  return value;
}

// sysfs names its entries itself; still, only what could be a kernel
// device name is kept, so nothing odd reaches a finding or a path.
bool plausible_kernel_name(const char* name) {
  const size_t n = strnlen(name, kMaxKernelName + 1);
  if (n == 0 || n > kMaxKernelName || name[0] == '.') return false;
  for (size_t i = 0; i < n; ++i) {
    const char c = name[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.' || c == ':' || c == '!'))
      return false;
  }
  return true;
}

}  // namespace

std::optional<DmInfo> dm_info_for(const HostPaths& paths, const std::string& kernel_name) {
  if (!kernel_name.starts_with("dm-") || !plausible_kernel_name(kernel_name.c_str())) return std::nullopt;
  const std::string dir = paths.sys() + "/block/" + kernel_name;
  DmInfo info;
  auto name = read_text_file(dir + "/dm/name", kMaxAttribute);
  if (!name) return std::nullopt;  // not a dm device, or gone
  info.name = std::move(*name);
  if (!info.name.empty() && info.name.back() == '\n') info.name.pop_back();
  info.uuid = attribute(dir + "/dm/uuid");
  DIR* slaves = ::opendir((dir + "/slaves").c_str());
  if (slaves == nullptr) return info;
  // Read a few past the bound to say there were more, then stop: the
  // directory is never walked to its end.
  size_t seen = 0;
  while (const dirent* de = ::readdir(slaves)) {
    if (!plausible_kernel_name(de->d_name)) continue;
    if (++seen > kMaxDmSlaves) {
      info.more_slaves = true;
      break;
    }
    info.slaves.emplace_back(de->d_name);
  }
  ::closedir(slaves);
  std::sort(info.slaves.begin(), info.slaves.end());
  return info;
}

std::optional<DevId> dm_device_named(const HostPaths& paths, const std::string& name, const std::string& uuid) {
  if (name.empty() && uuid.empty()) return std::nullopt;
  const std::string block = paths.sys() + "/block";
  DIR* dir = ::opendir(block.c_str());
  if (dir == nullptr) return std::nullopt;
  std::optional<DevId> found;
  size_t looked = 0;
  while (const dirent* de = ::readdir(dir)) {
    if (std::strncmp(de->d_name, "dm-", 3) != 0 || !plausible_kernel_name(de->d_name)) continue;
    if (++looked > kMaxDmDevices) break;
    const std::string dm = block + "/" + de->d_name;
    // The kernel looks a remove up by uuid when one is given, else by name.
    const bool match = uuid.empty() ? attribute(dm + "/dm/name") == name : attribute(dm + "/dm/uuid") == uuid;
    if (!match) continue;
    found = DevId::parse(attribute(dm + "/dev"));
    break;
  }
  ::closedir(dir);
  return found;
}

}  // namespace mountleak

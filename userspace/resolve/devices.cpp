// SPDX-License-Identifier: Apache-2.0
#include "resolve/devices.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "resolve/dm_sysfs.h"
#include "resolve/rbd_sysfs.h"
#include "resolve/read_text.h"

namespace mountleak {

namespace fs = std::filesystem;

namespace {

std::optional<DevId> read_dev_file(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  return DevId::parse(line);
}

// /sys/dev/block/MAJ:MIN is a link to .../block/<name> (or .../<disk>/<part>).

// sysfs keeps it to a page; anything longer is not a path we trust.
std::string loop_backing_file_of(const HostPaths& paths, const std::string& kernel_name) {
  if (!kernel_name.starts_with("loop")) return "";
  auto text = read_text_file(paths.sys() + "/block/" + kernel_name + "/loop/backing_file", 4096);
  if (!text) return "";
  std::string path = std::move(*text);
  if (!path.empty() && path.back() == '\n') path.pop_back();
  return path;
}

}  // namespace

std::string kernel_name_of(const HostPaths& paths, DevId dev) {
  std::error_code ec;
  fs::path target = fs::read_symlink(paths.sys() + "/dev/block/" + dev.str(), ec);
  return ec ? "" : target.filename().string();
}

DeviceRef describe_device(const HostPaths& paths, DevId dev) {
  DeviceRef ref;
  ref.dev = dev;
  ref.kernel_name = kernel_name_of(paths, dev);
  ref.path = ref.kernel_name.empty() ? dev.str() : "/dev/" + ref.kernel_name;
  if (!ref.kernel_name.empty()) ref.rbd = rbd_info_for(paths, ref.kernel_name);
  ref.loop_backing_file = loop_backing_file_of(paths, ref.kernel_name);
  ref.dm = dm_info_for(paths, ref.kernel_name);
  return ref;
}

Result<DeviceRef> resolve_device(const HostPaths& paths, const std::string& arg) {
  if (auto dev = DevId::parse(arg)) {
    if (access((paths.sys() + "/dev/block/" + dev->str()).c_str(), F_OK) != 0)
      return Error{"no block device " + arg + " on this node (" + paths.sys() + "/dev/block/" +
                       dev->str() + " does not exist)",
                   ENOENT};
    return describe_device(paths, *dev);
  }
  // A bare kernel name ("rbd4") means /dev/rbd4.
  std::string path = arg.find('/') == std::string::npos ? "/dev/" + arg : arg;
  struct stat st {};
  if (stat(paths.under_host(path).c_str(), &st) != 0)
    return Error::from_errno("device " + path);
  if (!S_ISBLK(st.st_mode)) return Error{path + " is not a block device", ENOTBLK};
  DeviceRef ref = describe_device(paths, DevId::from_dev_t(st.st_rdev));
  ref.path = path;
  return ref;
}

Result<std::vector<DeviceRef>> resolve_image(const HostPaths& paths, const std::string& arg) {
  auto slash = arg.find('/');
  auto last = arg.rfind('/');
  if (slash == std::string::npos || slash == 0 || last + 1 >= arg.size())
    return Error{"--image wants POOL/IMAGE (or POOL/NAMESPACE/IMAGE), got '" + arg + "'", EINVAL};
  std::string pool = arg.substr(0, slash);
  std::string image = arg.substr(last + 1);
  auto found = rbd_devices_for_image(paths, pool, image);
  if (!found) return found.error();
  if (found->empty())
    return Error{"rbd image " + arg + " is not mapped on this node (nothing in " + paths.sys() +
                     "/bus/rbd/devices)",
                 ENOENT};
  std::vector<DeviceRef> out;
  for (const auto& dev_path : *found) {
    auto ref = resolve_device(paths, dev_path);
    if (!ref) return ref.error();
    out.push_back(*ref);
  }
  return out;
}

std::vector<DeviceRef> tracked_devices(const HostPaths& paths) {
  std::vector<DeviceRef> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(paths.sys() + "/class/block", ec)) {
    std::string name = entry.path().filename().string();
    if (!paths.tracks_device(name)) continue;
    auto dev = read_dev_file(entry.path().string() + "/dev");
    if (!dev) continue;
    DeviceRef ref = describe_device(paths, *dev);
    ref.kernel_name = name;
    ref.path = "/dev/" + name;
    out.push_back(std::move(ref));
  }
  return out;
}

}  // namespace mountleak

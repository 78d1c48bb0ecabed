// SPDX-License-Identifier: Apache-2.0
#include "resolve/rbd_sysfs.h"

#include <dirent.h>

#include <algorithm>
#include <charconv>
#include <memory>

#include "resolve/read_text.h"

namespace mountleak {

namespace {

std::optional<int> parse_id(std::string_view s) {
  int id = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (ec != std::errc() || end != s.data() + s.size() || id < 0) return std::nullopt;
  return id;
}

std::string devices_dir(const HostPaths& paths) { return paths.sys() + "/bus/rbd/devices"; }

std::optional<RbdInfo> read_info(const HostPaths& paths, int id) {
  const std::string dir = devices_dir(paths) + "/" + std::to_string(id);
  auto pool = read_attribute(dir + "/pool");
  auto image = read_attribute(dir + "/name");
  if (!pool || !image) return std::nullopt;  // unmapped while we looked
  RbdInfo info;
  info.id = id;
  info.pool = std::move(*pool);
  info.image = std::move(*image);
  // pool_ns exists since Linux 5.0; older kernels only map the default namespace.
  if (auto ns = read_attribute(dir + "/pool_ns")) info.rados_namespace = std::move(*ns);
  if (auto client = read_attribute(dir + "/client_id")) info.client_id = std::move(*client);
  // The driver writes "-" for a mapping of the image itself.
  if (auto snap = read_attribute(dir + "/current_snap"); snap && *snap != "-") info.snap = std::move(*snap);
  return info;
}

}  // namespace

std::optional<RbdInfo> rbd_info_for(const HostPaths& paths, const std::string& kernel_name) {
  std::string_view name = kernel_name;
  if (name.substr(0, 3) != "rbd") return std::nullopt;
  name.remove_prefix(3);
  // Partitions are named "rbd<id>p<n>".
  if (size_t p = name.find('p'); p != std::string_view::npos) {
    if (!parse_id(name.substr(p + 1))) return std::nullopt;
    name = name.substr(0, p);
  }
  auto id = parse_id(name);
  if (!id) return std::nullopt;
  return read_info(paths, *id);
}

std::optional<RbdImageSpec> parse_rbd_image_spec(std::string_view text) {
  RbdImageSpec spec;
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    spec.snap = std::string(text.substr(at + 1));
    if (spec.snap->empty()) return std::nullopt;
    text = text.substr(0, at);
  }
  size_t first = text.find('/');
  if (first == std::string_view::npos) return std::nullopt;
  size_t last = text.rfind('/');
  spec.pool = text.substr(0, first);
  spec.image = text.substr(last + 1);
  if (last != first) {
    spec.rados_namespace = text.substr(first + 1, last - first - 1);
    if (spec.rados_namespace.empty() || spec.rados_namespace.find('/') != std::string::npos) return std::nullopt;
  }
  if (spec.pool.empty() || spec.image.empty()) return std::nullopt;
  return spec;
}

Result<std::vector<std::string>> rbd_devices_for_image(const HostPaths& paths, const RbdImageSpec& spec) {
  const std::string dir = devices_dir(paths);
  std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(dir.c_str()), ::closedir);
  if (!d) {
    if (errno == ENOENT) return std::vector<std::string>{};
    return Error::from_errno("listing " + dir);
  }
  std::vector<int> ids;
  while (dirent* e = ::readdir(d.get())) {
    auto id = parse_id(e->d_name);
    if (!id) continue;
    auto info = read_info(paths, *id);
    if (!info || info->pool != spec.pool || info->image != spec.image || info->rados_namespace != spec.rados_namespace)
      continue;
    if (spec.snap && info->snap != *spec.snap) continue;
    ids.push_back(*id);
  }
  std::sort(ids.begin(), ids.end());
  std::vector<std::string> devices;
  for (int id : ids) devices.push_back("/dev/rbd" + std::to_string(id));
  return devices;
}

Result<std::vector<std::string>> rbd_devices_for_image(const HostPaths& paths, std::string_view pool,
                                                       std::string_view image) {
  return rbd_devices_for_image(paths, RbdImageSpec{std::string(pool), "", std::string(image), std::nullopt});
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
// libFuzzer target for the text of Ceph RBD: `--image` specs (pool/image,
// pool/namespace/image, @snap), kernel device names, the rbd driver's sysfs
// client_id, entity names from the cluster's lock list, and librbd's
// NUL-separated lists. The operator, the cluster and whoever named a pool
// or image control these. A spec found writes back as the input, ids found
// come from the input, a list splits back into the input, and the mappings
// found for a spec (in the fixture sysfs tree) are exactly those of that
// image.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "config/host_paths.h"
#include "fuzz_check.h"
#include "resolve/ceph_names.h"
#include "resolve/rbd_sysfs.h"

namespace {

using mountleak::fuzz::check;

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

// "123", or "-0..." (from_chars reads "-0" as 0); nothing else.
bool global_id_text(std::string_view digits) {
  bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.remove_prefix(1);
  if (digits.empty()) return false;
  for (char c : digits)
    if (c < '0' || c > '9' || (negative && c != '0')) return false;
  return true;
}

const mountleak::HostPaths& fixture() {
  static const mountleak::HostPaths paths = [] {
    mountleak::HostPaths p;
    p.host_root = std::string(MOUNTLEAK_TEST_DATA) + "/sysfs";
    return p;
  }();
  return paths;
}

void check_spec(std::string_view text) {
  auto spec = mountleak::parse_rbd_image_spec(text);
  if (!spec) return;
  check(!spec->pool.empty() && !spec->image.empty());
  check(!contains(spec->pool, "/") && !contains(spec->rados_namespace, "/") && !contains(spec->image, "/"));
  check(!contains(spec->pool, "@") && !contains(spec->rados_namespace, "@") && !contains(spec->image, "@"));
  check(!spec->snap || !spec->snap->empty());
  std::string written = spec->pool + "/" + (spec->rados_namespace.empty() ? "" : spec->rados_namespace + "/") +
                        spec->image + (spec->snap ? "@" + *spec->snap : "");
  check(written == text);

  // The fixture's mappings: ids 0-15, some unreadable.
  auto devices = mountleak::rbd_devices_for_image(fixture(), *spec);
  check(devices.ok());
  std::vector<std::string> expected;
  for (int id = 0; id <= 16; ++id) {
    auto info = mountleak::rbd_info_for(fixture(), "rbd" + std::to_string(id));
    if (!info) continue;
    check(info->id == id);
    if (info->pool == spec->pool && info->image == spec->image && info->rados_namespace == spec->rados_namespace &&
        (!spec->snap || info->snap == *spec->snap))
      expected.push_back("/dev/rbd" + std::to_string(id));
  }
  check(*devices == expected);
  if (!spec->snap && spec->rados_namespace.empty()) {
    auto by_name = mountleak::rbd_devices_for_image(fixture(), spec->pool, spec->image);
    check(by_name.ok() && *by_name == expected);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  check_spec(text);

  // A kernel device name: only "rbd<id>" and "rbd<id>p<n>" reach sysfs.
  if (auto info = mountleak::rbd_info_for(fixture(), std::string(text))) {
    check(text.starts_with("rbd") && info->id >= 0);
    check(contains(text, std::to_string(info->id)));
    check(!contains(text, "/") && !info->pool.empty() && !info->image.empty());
  }

  if (auto id = mountleak::ceph_client_id(text)) {
    check(!id->empty());
    check((!contains(text, ".") && *id == text) || text == "client." + *id);
  }
  if (auto g = mountleak::ceph_kernel_client_global_id(text)) {
    check(*g >= 0 && text.starts_with("client") && global_id_text(text.substr(6)));
    check(contains(text, std::to_string(*g)));
  }
  if (auto g = mountleak::ceph_entity_global_id(text)) {
    check(*g >= 0 && text.starts_with("client.") && global_id_text(text.substr(7)));
    check(contains(text, std::to_string(*g)));
  }
  // Any global id reads back from both spellings.
  int64_t g = 0;
  std::memcpy(&g, data, std::min(size, sizeof(g)));
  g = g < 0 ? -(g + 1) : g;
  check(mountleak::ceph_kernel_client_global_id("client" + std::to_string(g)) == g);
  check(mountleak::ceph_entity_global_id("client." + std::to_string(g)) == g);
  check(mountleak::ceph_client_id("client." + std::to_string(g)) == std::to_string(g));

  // librbd's lists: the items joined by NUL are the buffer, up to its final NUL.
  const auto items = mountleak::split_nul_list(reinterpret_cast<const char*>(data), size);
  std::string joined;
  for (size_t i = 0; i < items.size(); ++i) {
    check(!contains(items[i], std::string_view("\0", 1)));
    if (i) joined += '\0';
    joined += items[i];
  }
  const bool closed = size > 0 && data[size - 1] == '\0';
  check(closed ? joined + '\0' == text : joined == text);
  check(items.size() == static_cast<size_t>(std::count(text.begin(), text.end(), '\0')) + (size > 0 && !closed));
  return 0;
}

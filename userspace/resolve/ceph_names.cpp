// SPDX-License-Identifier: Apache-2.0
#include "resolve/ceph_names.h"

#include <charconv>

namespace mountleak {

namespace {

std::optional<int64_t> parse_global_id(std::string_view s) {
  int64_t id = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), id);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || id < 0) return std::nullopt;
  return id;
}

}  // namespace

std::optional<std::string> ceph_client_id(std::string_view name) {
  if (size_t dot = name.find('.'); dot != std::string_view::npos) {
    if (name.substr(0, dot) != "client") return std::nullopt;
    name.remove_prefix(dot + 1);
  }
  if (name.empty()) return std::nullopt;
  return std::string(name);
}

std::optional<int64_t> ceph_kernel_client_global_id(std::string_view sysfs_client_id) {
  constexpr std::string_view kPrefix = "client";
  if (sysfs_client_id.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return parse_global_id(sysfs_client_id.substr(kPrefix.size()));
}

std::optional<int64_t> ceph_entity_global_id(std::string_view entity) {
  constexpr std::string_view kPrefix = "client.";
  if (entity.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  return parse_global_id(entity.substr(kPrefix.size()));
}

std::vector<std::string> split_nul_list(const char* buf, size_t len) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < len; ++i) {
    if (buf[i] != '\0') continue;
    out.emplace_back(buf + start, i - start);
    start = i + 1;
  }
  if (start < len) out.emplace_back(buf + start, len - start);
  return out;
}

}  // namespace mountleak

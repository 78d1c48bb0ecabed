// SPDX-License-Identifier: Apache-2.0
#include "postmortem/device_selection.h"

#include <charconv>

namespace mountleak {

DeviceKey key_of(const LoggedDevice& d) { return {d.major, d.minor}; }

std::map<DeviceKey, LoggedDevice> devices_in(const LogRecords& log) {
  std::map<DeviceKey, LoggedDevice> out;
  for (const auto& e : log.entries)
    if (const auto* f = std::get_if<LoggedFinding>(&e.record))
      if (f->device.major || f->device.minor) out[key_of(f->device)] = f->device;
  return out;
}

namespace {

bool parse_number(std::string_view s, uint32_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

bool device_matches(const LoggedDevice& d, const std::string& spec) {
  if (spec.empty()) return false;
  if (const size_t colon = spec.find(':'); colon != std::string::npos) {
    uint32_t major = 0, minor = 0;
    return parse_number(std::string_view(spec).substr(0, colon), major) &&
           parse_number(std::string_view(spec).substr(colon + 1), minor) && major == d.major && minor == d.minor;
  }
  if (spec == d.path) return true;
  if (!d.name.empty() && (spec == d.name || spec == "/dev/" + d.name)) return true;
  // The path's last component, as `scan --device rbd4` takes it.
  const size_t slash = d.path.rfind('/');
  return slash != std::string::npos && spec == d.path.substr(slash + 1);
}

bool image_matches(const LoggedDevice& d, const std::string& pool_image) {
  const size_t slash = pool_image.find('/');
  if (slash == std::string::npos || d.rbd_pool.empty()) return false;
  return pool_image.substr(0, slash) == d.rbd_pool && pool_image.substr(slash + 1) == d.rbd_image;
}

bool pod_matches(const LoggedOwner& owner, const std::string& spec) {
  if (!owner.pod) return false;
  const size_t slash = spec.find('/');
  if (slash == std::string::npos) return owner.pod->name == spec;
  return owner.pod->namespace_ == spec.substr(0, slash) && owner.pod->name == spec.substr(slash + 1);
}

std::vector<LoggedDevice> select_devices(const LogRecords& log, const ReportQuery& query) {
  std::vector<LoggedDevice> out;
  for (const auto& [key, d] : devices_in(log)) {
    bool wanted = query.devices.empty() && query.images.empty();
    for (const auto& spec : query.devices) wanted = wanted || device_matches(d, spec);
    for (const auto& spec : query.images) wanted = wanted || image_matches(d, spec);
    if (wanted) out.push_back(d);
  }
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#pragma once

// A block or anonymous device number. Devices are matched by number, never by
// name: names differ between mount namespaces, while the number in mountinfo's
// third field is the same st_dev a stat() of any file on the mount returns.

#include <sys/sysmacros.h>
#include <sys/types.h>

#include <charconv>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mountleak {

struct DevId {
  uint32_t major = 0;
  uint32_t minor = 0;

  auto operator<=>(const DevId&) const = default;

  // "MAJ:MIN", the form mountinfo and /sys/class/block/*/dev use.
  std::string str() const { return std::to_string(major) + ":" + std::to_string(minor); }

  // Accepts exactly "MAJ:MIN" in decimal; anything else (signs, spaces,
  // trailing text, values above 32 bits) is rejected.
  static std::optional<DevId> parse(std::string_view text) {
    const char* const begin = text.data();
    const char* const end = begin + text.size();
    DevId id;
    auto [colon, err1] = std::from_chars(begin, end, id.major);
    if (err1 != std::errc() || colon == begin || colon == end || *colon != ':') return std::nullopt;
    auto [stop, err2] = std::from_chars(colon + 1, end, id.minor);
    if (err2 != std::errc() || stop == colon + 1 || stop != end) return std::nullopt;
    return id;
  }

  static DevId from_dev_t(dev_t dev) {
    return DevId{static_cast<uint32_t>(::major(dev)), static_cast<uint32_t>(::minor(dev))};
  }

  dev_t to_dev_t() const { return ::makedev(major, minor); }
};

}  // namespace mountleak

template <>
struct std::hash<mountleak::DevId> {
  size_t operator()(const mountleak::DevId& d) const noexcept {
    return std::hash<uint64_t>()((static_cast<uint64_t>(d.major) << 32) | d.minor);
  }
};

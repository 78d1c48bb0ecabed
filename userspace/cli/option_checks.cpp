// SPDX-License-Identifier: Apache-2.0
#include "cli/option_checks.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/core.h>

#include "config/byte_size.h"
#include "release/release_scope.h"

namespace mountleak {

CLI::Validator seconds_up_to(double max_seconds) {
  return CLI::Validator(
      [max_seconds](std::string& value) -> std::string {
        char* end = nullptr;
        double d = std::strtod(value.c_str(), &end);
        if (value.empty() || end != value.c_str() + value.size()) return "not a number: '" + value + "'";
        if (!std::isfinite(d) || d < 0 || d > max_seconds)
          return fmt::format("{} is not a number of seconds from 0 to {}", value, max_seconds);
        return "";
      },
      fmt::format("SECONDS in [0, {}]", max_seconds));
}

CLI::Validator non_empty(const std::string& what) {
  return CLI::Validator(
      [what](std::string& value) -> std::string { return value.empty() ? "an empty " + what + " means nothing" : ""; },
      "");
}

CLI::Validator release_scope_selector() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto selector = parse_scope_selector(value);
        return selector ? "" : selector.error().message;
      },
      "SELECTOR");
}

CLI::Validator absolute_path() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        return !value.empty() && value.front() == '/' ? "" : "'" + value + "' is not an absolute path";
      },
      "");
}

CLI::Validator pid_or_absolute_path() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        if (!value.empty() && value.front() == '/') return "";
        int pid = 0;
        auto [end, err] = std::from_chars(value.data(), value.data() + value.size(), pid);
        if (err == std::errc() && end == value.data() + value.size() && pid > 0) return "";
        return "'" + value + "' is neither a pid nor an absolute path to a namespace file";
      },
      "");
}

CLI::Validator byte_size_or_zero(uint64_t min_bytes, uint64_t max_bytes) {
  return CLI::Validator(
      [min_bytes, max_bytes](std::string& value) -> std::string {
        auto bytes = parse_byte_size(value);
        if (!bytes) return bytes.error().message;
        if (*bytes != 0 && (*bytes < min_bytes || *bytes > max_bytes))
          return fmt::format("{} is neither 0 nor a size from {} to {} bytes", value, min_bytes, max_bytes);
        value = std::to_string(*bytes);
        return "";
      },
      "SIZE");
}

}  // namespace mountleak

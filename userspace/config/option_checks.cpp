// SPDX-License-Identifier: Apache-2.0
#include "config/option_checks.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include <fmt/core.h>

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

}  // namespace mountleak

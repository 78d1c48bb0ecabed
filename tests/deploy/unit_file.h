// SPDX-License-Identifier: Apache-2.0
#pragma once

// A systemd unit file read as systemd.syntax(7) describes it: [Section]
// headers, Key=Value lines, # and ; comments, a trailing backslash joining
// the next line, and a key that may be assigned more than once (an empty
// assignment resets it). `systemd-analyze verify` judges the settings
// themselves; this gives the tests the values to check.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace mountleak::deploy {

class UnitFile {
 public:
  static Result<UnitFile> parse(const std::string& text);
  static Result<UnitFile> load(const std::string& path);

  bool has_section(const std::string& section) const { return sections_.count(section) != 0; }
  // The last assignment of the key, as systemd takes a single-valued one.
  std::optional<std::string> value(const std::string& section, const std::string& key) const;
  // Every word of every assignment since the last empty one, for list
  // settings (CapabilityBoundingSet=, ReadWritePaths=, ...).
  std::vector<std::string> words(const std::string& section, const std::string& key) const;

 private:
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections_;
};

// systemd's booleans: 1/yes/y/true/t/on and 0/no/n/false/f/off.
std::optional<bool> unit_boolean(const std::string& value);

}  // namespace mountleak::deploy

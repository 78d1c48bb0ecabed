// SPDX-License-Identifier: Apache-2.0
#include "deploy/unit_file.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

namespace mountleak::deploy {

namespace {

std::string trimmed(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

}  // namespace

Result<UnitFile> UnitFile::parse(const std::string& text) {
  UnitFile unit;
  std::istringstream in(text);
  std::string raw, section;
  size_t number = 0;
  while (std::getline(in, raw)) {
    ++number;
    std::string line = trimmed(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    const size_t first = number;
    // A trailing backslash continues the logical line; comment lines
    // inside a continuation are skipped, as systemd does.
    while (!line.empty() && line.back() == '\\') {
      line.pop_back();
      std::string next;
      if (!std::getline(in, next)) break;
      ++number;
      next = trimmed(next);
      if (!next.empty() && (next[0] == '#' || next[0] == ';')) continue;
      line += " " + next;
    }
    if (line.front() == '[') {
      if (line.back() != ']' || line.size() < 3)
        return Error{"line " + std::to_string(first) + ": malformed section header: " + line, EINVAL};
      section = line.substr(1, line.size() - 2);
      unit.sections_[section];
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos)
      return Error{"line " + std::to_string(first) + ": not Key=Value: " + line, EINVAL};
    if (section.empty())
      return Error{"line " + std::to_string(first) + ": assignment outside any section: " + line, EINVAL};
    const std::string key = trimmed(line.substr(0, eq));
    if (key.empty()) return Error{"line " + std::to_string(first) + ": empty key", EINVAL};
    unit.sections_[section].emplace_back(key, trimmed(line.substr(eq + 1)));
  }
  return unit;
}

Result<UnitFile> UnitFile::load(const std::string& path) {
  std::ifstream file(path);
  if (!file) return Error::from_errno("reading " + path);
  std::ostringstream text;
  text << file.rdbuf();
  auto unit = parse(text.str());
  if (!unit) return Error{path + ": " + unit.error().message, unit.error().errno_value};
  return unit;
}

std::optional<std::string> UnitFile::value(const std::string& section, const std::string& key) const {
  auto it = sections_.find(section);
  if (it == sections_.end()) return std::nullopt;
  std::optional<std::string> last;
  for (const auto& [k, v] : it->second)
    if (k == key) last = v;
  return last;
}

std::vector<std::string> UnitFile::words(const std::string& section, const std::string& key) const {
  std::vector<std::string> out;
  auto it = sections_.find(section);
  if (it == sections_.end()) return out;
  for (const auto& [k, v] : it->second) {
    if (k != key) continue;
    if (v.empty()) out.clear();
    std::istringstream words(v);
    for (std::string w; words >> w;) out.push_back(w);
  }
  return out;
}

std::optional<bool> unit_boolean(const std::string& value) {
  std::string v;
  for (char ch : value) v += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const char* yes : {"1", "yes", "y", "true", "t", "on"})
    if (v == yes) return true;
  for (const char* no : {"0", "no", "n", "false", "f", "off"})
    if (v == no) return false;
  return std::nullopt;
}

}  // namespace mountleak::deploy

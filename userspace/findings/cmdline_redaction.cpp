// SPDX-License-Identifier: Apache-2.0
#include "findings/cmdline_redaction.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace mountleak {

namespace {

bool names_secret(std::string_view key) {
  std::string lower(key);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  static constexpr std::array<std::string_view, 6> kWords = {"pass", "secret", "token", "key", "cred", "auth"};
  return std::any_of(kWords.begin(), kWords.end(),
                     [&](std::string_view w) { return lower.find(w) != std::string::npos; });
}

std::string_view without_dashes(std::string_view s) {
  while (!s.empty() && s.front() == '-') s.remove_prefix(1);
  return s;
}

// "scheme://user:secret@host..." -> "scheme://user:<redacted>@host...".
std::string redact_url_password(const std::string& arg) {
  auto scheme = arg.find("://");
  if (scheme == std::string::npos) return arg;
  auto authority_end = arg.find_first_of("/?#", scheme + 3);
  auto at = arg.rfind('@', authority_end == std::string::npos ? std::string::npos : authority_end);
  if (at == std::string::npos || at < scheme + 3) return arg;
  auto colon = arg.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return arg;
  return arg.substr(0, colon + 1) + kRedactedValue + arg.substr(at);
}

// Each "key=value" of a comma-separated list whose key names a secret.
std::string redact_assignments(const std::string& arg) {
  std::string out;
  size_t start = 0;
  while (start <= arg.size()) {
    size_t end = arg.find(',', start);
    if (end == std::string::npos) end = arg.size();
    std::string_view item(arg.data() + start, end - start);
    auto eq = item.find('=');
    if (eq != std::string_view::npos && names_secret(without_dashes(item.substr(0, eq))))
      out.append(item.substr(0, eq + 1)).append(kRedactedValue);
    else
      out.append(item);
    if (end == arg.size()) break;
    out += ',';
    start = end + 1;
  }
  return out;
}

}  // namespace

std::vector<std::string> redact_cmdline(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  bool next_is_secret = false;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (i == 0) {
      out.push_back(arg);
      continue;
    }
    if (next_is_secret) {
      out.push_back(kRedactedValue);
      next_is_secret = false;
      continue;
    }
    // "--password" alone: its value is the next argument.
    if (arg.size() > 1 && arg.front() == '-' && arg.find('=') == std::string::npos &&
        names_secret(without_dashes(arg))) {
      out.push_back(arg);
      next_is_secret = true;
      continue;
    }
    out.push_back(redact_url_password(redact_assignments(arg)));
  }
  return out;
}

}  // namespace mountleak

// SPDX-License-Identifier: Apache-2.0
#include "deploy/cli_options.h"

#include <sys/wait.h>

#include <cstdio>
#include <regex>
#include <sstream>

namespace mountleak::deploy {

std::string built_mountleak() { return MOUNTLEAK_CLI_BINARY; }

Result<std::set<std::string>> options_in_help(const std::string& binary, const std::string& subcommand) {
  const std::string command = "'" + binary + "' " + subcommand + " --help 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return Error::from_errno("running " + command);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) text.append(buf, n);
  const int status = pclose(pipe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Error{command + " failed: " + text, ECHILD};
  // CLI11 lists each option at the start of a line: "  -o,--output ...",
  // "  --log TEXT ...", "  --no-propagation-reconcile{false}".
  std::set<std::string> names;
  static const std::regex kOptionLine(R"(^  (-[^ {]+))");
  static const std::regex kName(R"(-{1,2}[A-Za-z0-9][A-Za-z0-9-]*)");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, kOptionLine)) continue;
    const std::string spelled = m[1];
    for (std::sregex_iterator it(spelled.begin(), spelled.end(), kName), end; it != end; ++it) names.insert(it->str());
  }
  if (names.empty()) return Error{command + " listed no options: " + text, EINVAL};
  return names;
}

std::vector<std::string> option_names(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (const auto& a : args)
    if (a.size() > 1 && a[0] == '-') out.push_back(a.substr(0, a.find('=')));
  return out;
}

std::optional<std::string> option_value(const std::vector<std::string>& args, const std::vector<std::string>& names) {
  for (size_t i = 0; i < args.size(); ++i)
    for (const auto& name : names) {
      if (args[i] == name && i + 1 < args.size()) return args[i + 1];
      if (args[i].rfind(name + "=", 0) == 0) return args[i].substr(name.size() + 1);
    }
  return std::nullopt;
}

std::vector<std::string> split_words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream words(line);
  for (std::string w; words >> w;) out.push_back(w);
  return out;
}

}  // namespace mountleak::deploy

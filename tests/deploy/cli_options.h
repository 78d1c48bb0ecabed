// SPDX-License-Identifier: Apache-2.0
#pragma once

// Which options a deployment file passes, and whether the built binary
// knows them: `mountleak SUBCOMMAND --help` lists every option, so a flag
// renamed or removed in the code fails the test of the file that uses it.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "util/result.h"

namespace mountleak::deploy {

// The mountleak binary this build made.
std::string built_mountleak();

// Every long and short option name in `BINARY SUBCOMMAND --help`.
Result<std::set<std::string>> options_in_help(const std::string& binary, const std::string& subcommand);

// The option names in an argument list: "--log=F" and "--log F" give
// "--log", "-o" gives "-o". Values are not options.
std::vector<std::string> option_names(const std::vector<std::string>& args);

// The value of the first of `names` in `args` ("--x=V", or "--x V"), if any.
std::optional<std::string> option_value(const std::vector<std::string>& args, const std::vector<std::string>& names);

// A command line split at spaces (deployment files quote nothing).
std::vector<std::string> split_words(const std::string& line);

}  // namespace mountleak::deploy

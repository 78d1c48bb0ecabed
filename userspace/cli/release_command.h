// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace mountleak {

void register_release_command(CLI::App& app, CommandAction& action);

}  // namespace mountleak

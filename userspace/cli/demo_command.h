// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace mountleak {

// `mountleak demo`: the field report's leak, made and found in a sandbox.
void register_demo_command(CLI::App& app, CommandAction& action);

}  // namespace mountleak

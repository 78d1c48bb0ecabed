// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace mountleak {

// `mountleak probe`: what this kernel offers and which tier serves each hook.
void register_probe_command(CLI::App& app, CommandAction& action);

}  // namespace mountleak
